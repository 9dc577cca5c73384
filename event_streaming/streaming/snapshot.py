# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Initial sync: copy the documents a producer already has, alongside the live stream.

The live stream only carries changes made after a subscription was approved. An initial sync
reads the producer's documents of one subscribed DocType in chunks, by name (keyset paging on the
primary key, so memory and request time stay bounded however many documents there are), and
upserts each one: inserted when missing, updated in place when a local copy exists (found as the
stream finds it: same name, or remote_docname/remote_site_name). Everything the stream respects
applies: the producer serves only approved, subscribed DocTypes and documents passing the
consumer's condition; the consumer maps, names, fetches dependencies and moves docstatus as it
does for a Create or an Update.

Concurrency with the stream follows the watermark idea of incremental snapshots (Debezium, DBLog):
the producer reads its newest log sequence H *before* it reads a chunk, so the chunk reflects at
least every change up to H. The consumer applies a chunk while holding the producer's pull lock
(the stream cannot apply meanwhile) and first lets the stream catch up past H. A document the
stream has since applied a change to with a sequence above H (or that waits behind a failed change)
is newer here than in the chunk and is skipped; every other document in the chunk is at least as
new as the local copy. Changes made after the chunk was read arrive through the stream afterwards
and are applied on top. So a chunk never overwrites a newer change and no change is lost.

Each run is an Event Initial Sync record (per producer and DocType): status, counts, where to
resume (the last producer name done) and errors. A killed worker or an unreachable producer leaves
the run resumable from its last committed chunk; a run can be cancelled between chunks.
"""

import contextvars
from concurrent.futures import ThreadPoolExecutor

import frappe
from frappe import _
from frappe.model.naming import is_autoincremented
from frappe.query_builder.functions import Max
from frappe.utils import cint, escape_html, get_url, now_datetime

from event_streaming.streaming import apply, capture, conditions, feed, health, jobs, payload, transport
from event_streaming.streaming import diff as diffing
from event_streaming.streaming.identity import acting_as
from event_streaming.streaming.redaction import redact

RUN_DOCTYPE = "Event Initial Sync"
CHUNK_METHOD = "event_streaming.api.get_snapshot_chunk"
COUNT_METHOD = "event_streaming.api.count_documents"
RUN_JOB = "event_streaming.streaming.snapshot.run_job"
APPROVAL_JOB = "event_streaming.streaming.snapshot.approval_job"
DEFAULT_CHUNK = 200
MAX_CHUNK = 500
# fields the consumer keeps for itself: never taken from a producer's snapshot
LOCAL_IDENTITY_FIELDS = frozenset({"remote_docname", "remote_site_name"})
UNFINISHED = ("Queued", "Running", "Failed", "Cancelled")
MAX_ERRORS_KEPT = 20


class InitialSyncError(frappe.ValidationError):
	pass


# --- producer side -------------------------------------------------------------------------


def approved_condition(consumer, doctype: str) -> str | None:
	"""The consumer's condition for ``doctype``; PermissionError unless it is approved and subscribed."""
	subscribed = feed.subscriptions(consumer)
	if doctype not in subscribed:
		frappe.throw(
			_("{0} is not an approved subscription of this consumer.").format(
				escape_html(str(doctype)[:140])
			),
			frappe.PermissionError,
		)
	return subscribed[doctype]


def get_chunk(consumer, doctype: str, after: str | None, limit: int | None) -> dict:
	"""Up to ``limit`` documents of ``doctype`` named after ``after``, those passing the consumer's
	condition, as Create snapshots: ``{documents, last_name, has_more, high_sequence}``."""
	condition = approved_condition(consumer, doctype)
	limit = max(1, min(feed.sequence_argument(limit, "limit") or DEFAULT_CHUNK, MAX_CHUNK))
	after = "" if after is None else str(after)
	if len(after) > payload.MAX_NAME_LENGTH:
		frappe.throw(_("Invalid request: after is not a document name."), exc=feed.InvalidRequest)
	# the watermark is read first: the documents read below reflect every change up to it
	feed.assign_sequences()
	log = frappe.qb.DocType("Event Update Log")
	high_sequence = int(frappe.qb.from_(log).select(Max(log.sequence)).run()[0][0] or 0)
	table = frappe.qb.DocType(doctype)
	meta = frappe.get_meta(doctype)
	# an autoincrement DocType's name is a bigint: compared with text, PostgreSQL refuses the query,
	# and its names page in numeric order (10 follows 9)
	start = min(max(cint(after), 0), 2**63 - 1) if is_autoincremented(doctype, meta) else after
	names = (
		frappe.qb.from_(table)
		.select(table.name)
		.where(table.name > start)
		.orderby(table.name)
		.limit(limit + 1)
		.run(pluck=True)
	)
	has_more = len(names) > limit
	names = names[:limit]
	documents = []
	schema = capture.schema_of(doctype)
	for name in names:
		doc = frappe.get_doc(doctype, name)
		if condition and not passes_condition(consumer, doc, condition):
			continue
		values = diffing.strip_snapshot(doc.as_dict(convert_dates_to_str=True), schema)
		documents.append(feed.without_secrets(meta, values))
	return {
		"documents": documents,
		"last_name": names[-1] if names else after,
		"has_more": has_more,
		"high_sequence": high_sequence,
	}


def passes_condition(consumer, doc, condition: str) -> bool:
	row = frappe._dict(update_type="Create", ref_doctype=doc.doctype, docname=doc.name)
	# as in feed.passes: a failed statement of a cmd: condition must not abort the chunk's
	# transaction on PostgreSQL
	savepoint = "event_streaming_condition"
	frappe.db.savepoint(savepoint)
	try:
		satisfied = conditions.is_satisfied(condition, conditions.read_only_copy(doc), consumer, row)
	except Exception as error:
		frappe.db.rollback(save_point=savepoint)
		feed.report_failed_condition(consumer.name, condition, row, error)
		return False
	frappe.db.release_savepoint(savepoint)
	return satisfied


def count_documents(consumer) -> dict[str, int]:
	"""How many documents each approved, subscribed DocType has (before conditions)."""
	return {doctype: frappe.db.count(doctype) for doctype in feed.subscriptions(consumer)}


# --- consumer side -------------------------------------------------------------------------


def producer_counts(event_producer: str) -> dict[str, int]:
	"""The producer's document count per subscribed (remote) DocType, for the confirmation."""
	producer = frappe.get_doc("Event Producer", event_producer)
	check_v2(producer)
	reply = transport.producer_peer(producer).call(COUNT_METHOD, event_consumer=get_url())
	if not isinstance(reply, dict):
		raise transport.PeerError(_("The producer sent an invalid document count."))
	counts = {}
	for doctype, count in reply.items():
		try:
			counts[payload.check_name(doctype, "a DocType")] = payload.check_sequence(count, "a count")
		except payload.PayloadError as error:
			raise transport.PeerError(
				_("The producer sent an invalid document count: {0}").format(str(error))
			)
	return counts


def check_v2(producer) -> None:
	if producer.protocol_version != "v2":
		frappe.throw(
			_(
				"{0} runs the original Event Streaming app, which cannot serve its existing documents. Upgrade it first."
			).format(escape_html(producer.name)),
			exc=InitialSyncError,
			title=_("Initial Sync Not Possible"),
		)


def start(event_producer: str, doctype: str | None = None, enqueue: bool = True) -> list[str]:
	"""Create (or resume) one run per subscribed DocType, or for ``doctype`` (local) only; queue
	them unless ``enqueue`` is off (the bench command runs them itself). Returns the run names."""
	producer = frappe.get_doc("Event Producer", event_producer)
	check_v2(producer)
	approved = {row.ref_doctype for row in producer.producer_doctypes if row.status == "Approved"}
	subscriptions = [
		subscription
		for subscription in apply.subscriptions_of(producer).values()
		if subscription.local_doctype in approved
		and doctype in (None, subscription.local_doctype, subscription.remote_doctype)
	]
	if not subscriptions:
		frappe.throw(
			_("{0} has no approved, subscribed DocType {1}.").format(
				escape_html(event_producer), escape_html(doctype or "")
			),
			exc=InitialSyncError,
		)
	runs = []
	for subscription in subscriptions:
		name = frappe.db.get_value(
			RUN_DOCTYPE,
			{
				"event_producer": producer.name,
				"ref_doctype": subscription.local_doctype,
				"status": ("in", UNFINISHED),
			},
			"name",
		)
		if name:
			frappe.db.set_value(
				RUN_DOCTYPE, name, {"cancel_requested": 0, "status": "Queued"}, update_modified=False
			)
		else:
			run = frappe.get_doc(
				{
					"doctype": RUN_DOCTYPE,
					"event_producer": producer.name,
					"ref_doctype": subscription.local_doctype,
					"remote_doctype": subscription.remote_doctype,
					"status": "Queued",
				}
			).insert(ignore_permissions=True)
			name = run.name
		runs.append(name)
	frappe.db.commit()  # nosemgrep: the runs exist before a worker looks for them
	if enqueue:
		for name in runs:
			frappe.enqueue(RUN_JOB, queue="long", timeout=24 * 3600, run_name=name, enqueue_after_commit=True)
	return runs


def on_approval(event_producer: str, doctypes: list[str]) -> None:
	"""The producer approved ``doctypes`` (local names): after this transaction commits, sync their
	existing documents or offer to (see approval_job)."""
	if doctypes:
		frappe.enqueue(
			APPROVAL_JOB,
			queue="long",
			enqueue_after_commit=True,
			job_id=f"event_streaming::approval::{event_producer}::{frappe.generate_hash(length=8)}",
			event_producer=event_producer,
			doctypes=sorted(doctypes),
		)


def approval_job(event_producer: str, doctypes: list[str]) -> None:
	"""Start an initial sync of newly approved DocTypes when the settings say so; otherwise tell
	System Managers that one can be started from the Event Producer form. A producer running the
	original app cannot serve its documents: nothing to offer."""
	with jobs.failures_logged(
		_("Event Streaming: initial sync on approval failed"), "Event Producer", event_producer
	):
		if frappe.db.get_value("Event Producer", event_producer, "protocol_version") != "v2":
			return
		if frappe.db.get_single_value("Event Streaming Settings", "initial_sync_on_approval"):
			for doctype in doctypes:
				start(event_producer, doctype)
			return
		health.notify_system_managers(
			_("{0} approved {1}: documents it already has can be synced").format(
				event_producer, ", ".join(doctypes)
			),
			_(
				"Only changes made from now on are streamed. To copy the documents the producer already "
				"has, open the Event Producer and choose Sync Existing Documents."
			),
			"Event Producer",
			event_producer,
		)
		frappe.db.commit()  # nosemgrep: the notifications of a background job


def cancel(run_name: str) -> None:
	"""Ask a run to stop after its current chunk (a queued or failed run stops at once)."""

	def write():
		# read in the write's own snapshot: the run writes its row after every chunk
		status = frappe.db.get_value(RUN_DOCTYPE, run_name, "status")
		if status == "Running":
			frappe.db.set_value(RUN_DOCTYPE, run_name, "cancel_requested", 1, update_modified=False)
		elif status in ("Queued", "Failed"):
			frappe.db.set_value(RUN_DOCTYPE, run_name, "status", "Cancelled", update_modified=False)

	# on PostgreSQL a progress write of the run committed since this request's snapshot began
	# would fail the update: write_status tries again in a fresh one
	jobs.write_status(write)


def run_job(run_name: str) -> None:
	"""Background job of one run."""
	with jobs.failures_logged(_("Event Streaming: initial sync failed"), RUN_DOCTYPE, run_name):
		run(run_name)


def run(run_name: str, chunk_size: int = DEFAULT_CHUNK, echo=None) -> str:
	"""Run (or resume) an initial sync to its end; returns its final status. Only one worker runs a
	given run at a time; a second one returns its status at once."""
	with jobs.exclusive(f"initial_sync::{run_name}", wait=0) as acquired:
		if not acquired:
			return frappe.db.get_value(RUN_DOCTYPE, run_name, "status")
		frappe.db.commit()  # nosemgrep: a fresh snapshot: the run may have been cancelled meanwhile
		record = frappe.get_doc(RUN_DOCTYPE, run_name)
		if record.status in ("Completed", "Cancelled"):
			return record.status
		set_run(run_name, status="Running", started_at=record.started_at or now_datetime(), error=None)
		try:
			if not record.total:
				counts = producer_counts(record.event_producer)
				set_run(run_name, total=counts.get(record.remote_doctype) or 0)
			peer = transport.producer_peer(frappe.get_doc("Event Producer", record.event_producer))
			# the next chunk is read over HTTP while this one is applied: the producer's time to
			# serve a chunk was a sixth of the whole. Reading it early is safe: its watermark is
			# read before it, and the stream catches up past that watermark before it is applied.
			with ThreadPoolExecutor(max_workers=1) as prefetcher:
				upcoming, after = None, record.last_name or ""
				while True:
					if frappe.db.get_value(RUN_DOCTYPE, run_name, "cancel_requested"):
						set_run(run_name, status="Cancelled", cancel_requested=0, finished_at=now_datetime())
						return "Cancelled"
					if upcoming is None:
						chunk = request_chunk(peer, get_url(), record.remote_doctype, after, chunk_size)
					else:
						chunk, upcoming = upcoming.result(), None
					last_name = chunk["last_name"]
					# an autoincrement DocType's names come as numbers, in numeric order (10 follows
					# 9); ``after`` is text when the run resumes from its record
					if isinstance(last_name, int):
						advances = last_name > cint(after)
					else:
						advances = str(last_name) > str(after)
					if chunk["has_more"] and not advances:
						# keyset paging moves forward; a producer that says otherwise would loop forever
						raise transport.PeerError(
							_("The producer's chunks do not advance past {0}.").format(after)
						)
					after = chunk["last_name"] or after
					if chunk["has_more"]:
						context = contextvars.copy_context()
						upcoming = prefetcher.submit(
							context.run,
							request_chunk,
							peer,
							get_url(),
							record.remote_doctype,
							chunk["last_name"],
							chunk_size,
						)
					has_more = apply_chunk(run_name, chunk)
					report_progress(run_name, echo)
					if not has_more:
						set_run(run_name, status="Completed", finished_at=now_datetime())
						report_progress(run_name, echo)
						return "Completed"
		except Exception as error:
			frappe.db.rollback()
			message = redact(str(error), jobs.known_secrets())[:2000] or type(error).__name__
			set_run(run_name, status="Failed", error=message)
			if echo:
				echo(_("Failed: {0}").format(message))
			if not isinstance(error, transport.PeerError | InitialSyncError):
				jobs.log_failure(_("Event Streaming: initial sync failed"), RUN_DOCTYPE, run_name)
				frappe.db.commit()  # nosemgrep: the Error Log row
			return "Failed"


def fetch_chunk(run_name: str, chunk_size: int = DEFAULT_CHUNK) -> dict:
	"""The next chunk of a run from its producer, checked: ``{documents, last_name, has_more,
	high_sequence}``."""
	record = frappe.get_doc(RUN_DOCTYPE, run_name)
	producer = frappe.get_doc("Event Producer", record.event_producer)
	return request_chunk(
		transport.producer_peer(producer),
		get_url(),
		record.remote_doctype,
		record.last_name or "",
		chunk_size,
	)


def request_chunk(peer, consumer_url: str, remote_doctype: str, after: str, chunk_size: int) -> dict:
	"""One chunk over HTTP, checked. Touches no database: it also runs in the prefetch thread."""
	reply = peer.call(
		CHUNK_METHOD, event_consumer=consumer_url, doctype=remote_doctype, after=after, limit=chunk_size
	)
	try:
		return check_chunk(reply)
	except payload.PayloadError as error:
		raise transport.PeerError(_("The producer sent an invalid chunk: {0}").format(str(error)))


def check_chunk(reply) -> dict:
	if not isinstance(reply, dict) or not isinstance(reply.get("documents"), list):
		raise payload.PayloadError("a chunk must be an object with a list of documents")
	documents = reply["documents"]
	if len(documents) > MAX_CHUNK or not all(isinstance(doc, dict) for doc in documents):
		raise payload.PayloadError(f"a chunk holds at most {MAX_CHUNK} document objects")
	for doc in documents:
		payload.check_name(doc.get("name"), "a document's name")
	last_name = reply.get("last_name") or ""
	if last_name:
		payload.check_name(last_name, "the last name")
	return {
		"documents": documents,
		"last_name": last_name,
		"has_more": bool(reply.get("has_more")),
		"high_sequence": payload.check_sequence(reply.get("high_sequence") or 0, "the high watermark"),
	}


def apply_chunk(run_name: str, chunk: dict) -> bool:
	"""Apply a fetched chunk under the producer's pull lock, after letting the stream catch up past
	the chunk's watermark; record progress. Returns whether more chunks follow."""
	from event_streaming.streaming import pull

	record = frappe.get_doc(RUN_DOCTYPE, run_name)
	producer_name = record.event_producer
	with jobs.exclusive(pull.pull_key(producer_name), wait=120) as acquired:
		if not acquired:
			frappe.throw(
				_("A pull of {0} kept running; the initial sync will resume from here.").format(
					producer_name
				),
				exc=pull.PullBusy,
			)
		pull.pull(producer_name)
		producer = frappe.get_doc("Event Producer", producer_name)
		with acting_as(producer.user):
			applier = apply.Applier(producer)
			subscription = applier.subscriptions.get(record.remote_doctype)
			if subscription is None or subscription.local_doctype != record.ref_doctype:
				frappe.throw(
					_("This site no longer subscribes to {0} from {1}.").format(
						record.ref_doctype, producer_name
					),
					exc=InitialSyncError,
				)
			documents = chunk["documents"]
			# as text: an autoincrement DocType's names come as numbers, producer_doc is text
			newer = newer_here(
				producer_name, record.ref_doctype, [str(doc["name"]) for doc in documents], chunk
			)
			# which documents are here already: one query for the chunk instead of one per document
			applier.index_page(
				[{"ref_doctype": record.remote_doctype, "docname": doc["name"]} for doc in documents]
			)
			counts = {"applied": 0, "skipped": 0, "failed": 0}
			errors = []
			for values in documents:
				if str(values["name"]) in newer:
					counts["skipped"] += 1
					continue
				error = upsert_isolated(applier, subscription, values)
				if error:
					counts["failed"] += 1
					if len(errors) < MAX_ERRORS_KEPT:
						errors.append(f"{values['name']}: {error}")
				else:
					counts["applied"] += 1
		previous_error = (record.error or "").strip()
		set_run(
			run_name,
			last_name=chunk["last_name"] or record.last_name,
			processed=(record.processed or 0) + len(documents),
			applied=(record.applied or 0) + counts["applied"],
			skipped=(record.skipped or 0) + counts["skipped"],
			failed=(record.failed or 0) + counts["failed"],
			error="\n".join(filter(None, [previous_error, *errors]))[-10000:] or None,
		)
	return chunk["has_more"]


def newer_here(producer_name: str, local_doctype: str, names: list[str], chunk: dict) -> set[str]:
	"""Documents of the chunk the stream changed here after the chunk's watermark, or whose change
	waits behind a failure: the chunk is older than what this site has (or will replay)."""
	if not names:
		return set()
	log = frappe.qb.DocType("Event Sync Log")
	return set(
		frappe.qb.from_(log)
		.select(log.producer_doc)
		.distinct()
		.where(log.event_producer == producer_name)
		.where(log.ref_doctype == local_doctype)
		.where(log.producer_doc.isin(names))
		.where((log.sequence > chunk["high_sequence"]) | (log.status == "Failed"))
		.run(pluck=True)
	)


def upsert_isolated(applier, subscription, values: dict) -> str | None:
	"""Insert or update one document inside a savepoint; the error text if it failed."""
	savepoint = "event_streaming_snapshot"
	apply.forget_misses()
	frappe.db.savepoint(savepoint)
	previous_origin = frappe.flags.event_streaming_origin
	# applied changes carry their origin, so capture never sends them back to the producer
	frappe.flags.event_streaming_origin = applier.producer.name
	try:
		upsert(applier, subscription, values)
	except Exception as error:
		frappe.db.rollback(save_point=savepoint)
		frappe.clear_messages()
		applier.resolver.forget_known()
		applier.local_names = {}
		return redact(frappe.utils.strip_html(str(error)) or type(error).__name__, jobs.known_secrets())[
			:1000
		]
	finally:
		frappe.flags.event_streaming_origin = previous_origin
	apply.release_stacking_savepoint(savepoint)
	return None


def upsert(applier, subscription, remote: dict) -> str:
	"""Make the local copy of one producer document match it: insert or update in place."""
	remote_name = remote["name"]
	row = {"update_type": "Create", "ref_doctype": subscription.remote_doctype, "docname": remote_name}
	row["name"] = f"initial-sync:{remote_name}"
	row["data"] = remote
	if subscription.mapping:
		from event_streaming.streaming import mapping

		row = mapping.map_row(row, subscription.mapping, applier)
	values = row["data"]
	local_name = applier.find_local(subscription, remote_name)
	target_docstatus = payload.check_sequence(values.get("docstatus") or 0, "the document status")
	if not local_name:
		# a cancelled document is created submitted, then cancelled, as it happened on the producer
		created = dict(row, data=dict(values, docstatus=min(target_docstatus, 1)))
		local_name = applier.insert(created, subscription)
		if target_docstatus == 2:
			frappe.get_doc(subscription.local_doctype, local_name).cancel()
		return local_name
	local = frappe.get_doc(subscription.local_doctype, local_name)
	schema = capture.schema_of(subscription.local_doctype)
	current = local.as_dict()
	target = dict(current)
	for fieldname in schema.fields:
		if fieldname in values and fieldname not in LOCAL_IDENTITY_FIELDS:
			target[fieldname] = values[fieldname]
	for table in schema.tables:
		if isinstance(values.get(table), list):
			target[table] = values[table]
	if "docstatus" in values:
		target["docstatus"] = target_docstatus
	change = diffing.compute_diff(current, target, schema)
	if not change:
		return local_name
	if change["changed"].get("docstatus") == 2 and (local.docstatus or 0) == 0:
		# a draft here, cancelled there: submit, then cancel
		change["changed"]["docstatus"] = 1
		applier.update(dict(row, update_type="Update", data=change), subscription)
		frappe.get_doc(subscription.local_doctype, local_name).cancel()
		return local_name
	return applier.update(dict(row, update_type="Update", data=change), subscription)


def set_run(run_name: str, **values) -> None:
	"""Write ``values`` to the run and commit, with what the transaction did before (a chunk's
	documents and its progress commit together).

	A Cancel may commit cancel_requested on the same row meanwhile: on PostgreSQL (REPEATABLE READ)
	updating a row changed since the transaction's snapshot began fails, and the run would end
	Failed. Then the write goes again in a fresh snapshot (jobs.write_status), after the rest of the
	transaction is committed; it writes only ``values``, so the request to cancel is kept."""
	jobs.write_status(
		lambda: frappe.db.set_value(RUN_DOCTYPE, run_name, values, update_modified=False),
		in_transaction=True,
	)
	frappe.db.commit()  # nosemgrep: progress is kept chunk by chunk, so a killed worker resumes here


def report_progress(run_name: str, echo=None) -> None:
	record = frappe.db.get_value(
		RUN_DOCTYPE,
		run_name,
		["event_producer", "ref_doctype", "processed", "total", "applied", "skipped", "failed", "status"],
		as_dict=True,
	)
	total = max(record.total or 0, record.processed or 0, 1)
	percent = 100 if record.status == "Completed" else min(99, 100 * (record.processed or 0) / total)
	description = _("{0}: {1} of {2} documents ({3} applied, {4} newer here, {5} failed)").format(
		record.ref_doctype,
		record.processed or 0,
		record.total or "?",
		record.applied,
		record.skipped,
		record.failed,
	)
	frappe.publish_progress(
		percent,
		title=_("Initial sync from {0}").format(record.event_producer),
		doctype="Event Producer",
		docname=record.event_producer,
		description=description,
	)
	if echo:
		echo(description)
