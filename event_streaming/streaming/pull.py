# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Pull a producer's feed page by page and apply it (consumer side).

Only one pull per producer runs at a time, across all workers (a database lock). Each page is
applied and committed together with the cursor that covers it, so a worker killed mid-page
re-reads that page and skips what it had applied (the Event Sync Log knows every applied log).
v2 producers page by commit-order sequence and are acknowledged after each commit; original (v1)
producers are read by timestamp with an overlap window behind the watermark (never below the
original app's watermark at upgrade), and are asked now and then whether they speak v2 yet.
"""

import json
from contextlib import ExitStack

import frappe
from frappe import _
from frappe.utils import escape_html, get_url, now_datetime

from event_streaming.streaming import apply, cursor, health, jobs, payload, protocol, transport
from event_streaming.streaming.identity import acting_as
from event_streaming.streaming.redaction import redact

FEED_V2_METHOD = "event_streaming.api.get_update_log_page"
ACK_METHOD = "event_streaming.api.acknowledge_update_logs"
FEED_V1_METHOD = (
	"event_streaming.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer"
)
PULL_JOB = "event_streaming.streaming.pull.pull_job"
PULL_EVENT = "event_streaming_pull"
V1_CHUNK = 500
# how long Resync waits for a running pull of the same producer before saying so
RESYNC_LOCK_WAIT = 10


class PullBusy(frappe.ValidationError):
	"""A pull of the producer holds its lock, so a resync (or another pull) cannot run now."""


def pull_key(event_producer: str) -> str:
	return f"pull::{event_producer}"


def request_pull(event_producer: str) -> None:
	"""Queue a pull of this producer; a pull already running will go round once more."""
	jobs.request_run(
		pull_key(event_producer), PULL_JOB, queue="long", timeout=3600, event_producer=event_producer
	)


def watch_key(event_producer: str) -> str:
	return f"event_streaming::pull_watch::{event_producer}"


def request_pull_for_user(event_producer: str) -> None:
	"""The Pull Now button: queue (or join) the background pull and tell the user who asked how it
	goes (realtime ``PULL_EVENT``: progress after each page, then what was applied and what failed)."""
	frappe.cache.set_value(watch_key(event_producer), frappe.session.user, expires_in_sec=3600)
	request_pull(event_producer)


def report_to_watcher(event_producer: str, user: str | None, stage: str, outcomes=None, error=None):
	if not user:
		return
	outcomes = outcomes or {}
	frappe.publish_realtime(
		PULL_EVENT,
		{
			"event_producer": event_producer,
			"stage": stage,
			"applied": outcomes.get("Synced", 0),
			"failed": outcomes.get("Failed", 0),
			"skipped": outcomes.get("Skipped", 0),
			"error": error,  # plain text: the form shows it escaped
		},
		user=user,
		after_commit=False,
	)


def pull_job(event_producer: str) -> None:
	if not frappe.db.exists("Event Producer", event_producer):
		return
	with jobs.failures_logged(_("Event Streaming: pull failed"), "Event Producer", event_producer):
		try:
			jobs.run_coalesced(pull_key(event_producer), lambda: pull(event_producer), wait=0)
		except transport.PeerError:
			pass  # already shown as the producer's Last Pull Error; the next notification or safety net retries


def pull_now(event_producer: str, wait: int = 120) -> int:
	"""Pull synchronously (pull_from_node, scripts, tests); returns logs applied. The Pull Now button
	queues the background pull instead (request_pull_for_user)."""
	jobs.mark_pending(pull_key(event_producer))
	counter = {"applied": 0}

	def work():
		counter["applied"] += pull(event_producer)

	try:
		done = jobs.run_coalesced(pull_key(event_producer), work, wait=wait)
	except transport.PeerError as error:
		# the producer's words reach a Desk message here: shown as text, never as markup
		frappe.throw(
			_("Could not pull from {0}: {1}").format(
				event_producer, escape_html(redact(str(error), jobs.known_secrets()))
			),
			exc=type(error),
			title=_("Pull Failed"),
		)
	if not done:
		frappe.throw(
			_("Another pull of {0} is still running; try again shortly.").format(event_producer), exc=PullBusy
		)
	return counter["applied"]


def pull_all_producers() -> None:
	"""Scheduler safety net: pull every producer now and then, even without a notification."""
	interval = frappe.db.get_single_value("Event Streaming Settings", "pull_interval_minutes") or 5
	for name, last_pull_at in frappe.get_all("Event Producer", fields=["name", "last_pull_at"], as_list=True):
		if not last_pull_at or (now_datetime() - last_pull_at).total_seconds() >= interval * 60:
			request_pull(name)


def fresh_snapshot() -> None:
	"""Called right after taking a producer's pull lock, before reading the cursor, the applied
	logs or local copies: under REPEATABLE READ a transaction that began before the lock still sees
	the world as it was before the pull that held the lock committed, and would apply its logs again.
	A caller's own pending work (pull_now from a web request) is committed here: a pull commits page
	by page anyway, so that work could never have been rolled back with the pull."""
	frappe.db.commit()  # nosemgrep: end the snapshot taken before the lock was ours


def pull(event_producer_name: str) -> int:
	"""Apply everything the producer has for us; the caller holds the producer's lock."""
	fresh_snapshot()
	producer = frappe.get_doc("Event Producer", event_producer_name)
	# expires=True: read redis itself, not this process's memo (a long job runs many rounds)
	watcher = frappe.cache.get_value(watch_key(producer.name), expires=True)
	with acting_as(producer.user):
		try:
			peer = transport.producer_peer(producer)
			# a v1 producer may have been upgraded since: asked again now and then
			protocol.refresh_protocol(producer, peer, get_position(producer.name))
			applier = apply.Applier(producer, peer)
			if watcher:
				applier.on_page = lambda outcomes: report_to_watcher(
					producer.name, watcher, "progress", outcomes
				)
			if producer.protocol_version == "v2":
				applied = pull_v2(producer, applier)
			else:
				applied = pull_v1(producer, applier)
			set_pull_status(producer.name, None)
		except transport.PeerError as error:
			frappe.db.rollback()
			message = redact(str(error), jobs.known_secrets())
			set_pull_status(producer.name, message)
			if watcher:
				frappe.cache.delete_value(watch_key(producer.name))
				report_to_watcher(producer.name, watcher, "error", error=message)
			raise
	if watcher:
		frappe.cache.delete_value(watch_key(producer.name))
		report_to_watcher(producer.name, watcher, "done", applier.outcomes)
	return applied


def pull_v2(producer, applier: apply.Applier) -> int:
	applied = 0
	while True:
		position = get_position(producer.name)
		after = int(position.last_sequence or 0)
		reply = applier.peer.call(FEED_V2_METHOD, event_consumer=get_url(), after=after)
		try:
			page = payload.check_feed_page(reply)
		except payload.PayloadError as error:
			raise transport.PeerError(_("The producer sent an invalid feed page: {0}").format(str(error)))
		done = applier.apply_page(page["logs"])
		applied += len(done)
		frappe.db.set_value(
			"Event Producer Last Update",
			position.name,
			"last_sequence",
			cursor.advance(after, page["next_cursor"]),
			update_modified=False,
		)
		frappe.db.commit()  # nosemgrep: page boundary: applied changes, sync logs and cursor together
		if page["next_cursor"] > after:
			applier.peer.call(
				ACK_METHOD,
				event_consumer=get_url(),
				cursor=page["next_cursor"],
				delivered=[name for row in page["logs"] if (name := apply.log_name(row))],
			)
		if not page["has_more"] or page["next_cursor"] <= after:
			return applied


def pull_v1(producer, applier: apply.Applier) -> int:
	position = get_position(producer.name)
	doctypes = list(applier.subscriptions)
	if not doctypes:
		return 0
	reply = applier.peer.call(
		FEED_V1_METHOD,
		event_consumer=get_url(),
		doctypes=json.dumps(doctypes),
		last_update=cursor.v1_request_watermark(position.last_update, position.original_watermark),
	)
	if not isinstance(reply, list):
		raise transport.PeerError(_("The producer's feed is not a list of logs."))
	applied = 0
	watermark = position.last_update
	for start in range(0, len(reply), V1_CHUNK):
		# rows are checked one by one while applied: a bad one becomes a Failed sync log
		chunk = reply[start : start + V1_CHUNK]
		applied += len(applier.apply_page(chunk))
		for row in chunk:
			if isinstance(row, dict) and isinstance(row.get("creation"), str):
				watermark = cursor.later_timestamp(watermark, row["creation"])
		frappe.db.set_value(
			"Event Producer Last Update", position.name, "last_update", watermark, update_modified=False
		)
		frappe.db.commit()  # nosemgrep: chunk boundary: applied changes, sync logs and watermark together
	return applied


def get_position(event_producer: str):
	name = frappe.db.get_value("Event Producer Last Update", {"event_producer": event_producer}, "name")
	if not name:
		position = frappe.new_doc("Event Producer Last Update")
		position.event_producer = event_producer
		position.insert(ignore_permissions=True)
		name = position.name
	return frappe.db.get_value(
		"Event Producer Last Update",
		name,
		["name", "last_update", "last_sequence", "original_watermark"],
		as_dict=True,
	)


def set_pull_status(event_producer: str, error: str | None) -> None:
	"""After a pull: when it ran and how it failed; after a successful one also the lag (a pull that
	succeeded drained the feed, so only changes that failed here are still waiting)."""
	status = {"last_pull_at": now_datetime(), "last_pull_error": error}
	if not error:
		status["replication_lag"] = health.failed_changes_age(event_producer) or 0
	# a form save of the Event Producer may write its row at the same moment (see jobs.write_status)
	jobs.write_status(
		lambda: frappe.db.set_value("Event Producer", event_producer, status, update_modified=False)
	)
	frappe.db.commit()  # nosemgrep: status of the pull, kept even when the pull failed


def retry_failed_logs() -> None:
	"""Scheduler: retry failed logs whose backoff expired, oldest first, in document order."""
	max_retries = frappe.db.get_single_value("Event Streaming Settings", "max_retries") or 0
	log = frappe.qb.DocType("Event Sync Log")
	due = (
		frappe.qb.from_(log)
		.select(log.name, log.event_producer, log.producer_doc, log.creation, log.update_type)
		.where(log.status == "Failed")
		.where(log.retry_count < max_retries)
		.where(log.next_retry_at <= now_datetime())
		.orderby(log.creation)
		.run(as_dict=True)
	)
	failed_docs = set()
	for entry in due:
		key = (entry.event_producer, entry.producer_doc)
		if key in failed_docs or has_earlier_failure(entry):
			failed_docs.add(key)
			continue
		if not frappe.db.exists("Event Producer", entry.event_producer):
			continue
		with jobs.exclusive(pull_key(entry.event_producer), wait=30) as acquired:
			if not acquired:
				continue
			fresh_snapshot()
			if frappe.db.get_value("Event Sync Log", entry.name, "status") != "Failed":
				continue  # a pull or resync that held the lock has dealt with it meanwhile
			if resync_locked(entry.name) != "Synced":
				failed_docs.add(key)
			frappe.db.commit()  # nosemgrep: each retried log stands alone


def has_earlier_failure(entry) -> bool:
	"""Per-document order: a log waits while an older change of its document is still Failed,
	except a Delete or Create, which supersedes those once it takes effect."""
	if entry.update_type in apply.SUPERSEDING_TYPES:
		return False
	log = frappe.qb.DocType("Event Sync Log")
	return bool(
		frappe.qb.from_(log)
		.select(log.name)
		.where(log.event_producer == entry.event_producer)
		.where(log.producer_doc == entry.producer_doc)
		.where(log.status == "Failed")
		.where(log.creation < entry.creation)
		.limit(1)
		.run()
	)


def resync(sync_log_name: str, wait: int = RESYNC_LOCK_WAIT) -> str:
	"""Apply a failed log again (its form's Resync button); returns the new status."""
	return resync_logs([sync_log_name], wait).get(sync_log_name) or frappe.db.get_value(
		"Event Sync Log", sync_log_name, "status"
	)


def resync_logs(names: list[str], wait: int = RESYNC_LOCK_WAIT) -> dict[str, str]:
	"""Apply failed logs again, oldest first; returns each one's new status.

	A resync holds the pull lock of its producer, as a pull does, so the two never run at once:
	all locks are taken before any log is touched (PullBusy if one stays busy for ``wait``
	seconds), and the outcome is committed before they are released."""
	logs = frappe.get_all(
		"Event Sync Log",
		filters={"name": ["in", list(names)], "status": "Failed"},
		fields=["name", "event_producer"],
		order_by="creation asc",
	)
	with ExitStack() as locks:
		for producer in sorted({log.event_producer for log in logs}):
			if not locks.enter_context(jobs.exclusive(pull_key(producer), wait=wait)):
				frappe.throw(
					_("A pull of {0} is running; resync again in a moment.").format(producer),
					exc=PullBusy,
					title=_("Producer Busy"),
				)
		fresh_snapshot()
		still_failed = set(
			frappe.get_all(
				"Event Sync Log",
				filters={"name": ["in", [log.name for log in logs]], "status": "Failed"},
				pluck="name",
			)
		)
		statuses = {log.name: resync_locked(log.name) for log in logs if log.name in still_failed}
		frappe.db.commit()  # nosemgrep: the outcome is final before a pull may start
	return statuses


def resync_locked(sync_log_name: str) -> str:
	"""Apply a failed log again from what its Event Sync Log kept, as the producer's Event
	Subscriber; the caller holds the producer's pull lock. Returns the new status.

	The log is checked as a new one would be, and is replayed only into what the producer is
	subscribed for today: a stored log is no licence to write anything else."""
	sync_log = frappe.get_doc("Event Sync Log", sync_log_name)
	producer = frappe.get_doc("Event Producer", sync_log.event_producer)
	applier = apply.Applier(producer)
	remote_doctype = applier_remote_doctype(sync_log)
	subscription = applier.subscriptions.get(remote_doctype)
	row, problem = apply.check_entry(
		{
			"update_type": sync_log.update_type,
			"ref_doctype": remote_doctype,
			"docname": sync_log.producer_doc,
			"data": sync_log.data,
			# the original app's sync logs do not name their log
			"name": sync_log.update_log or sync_log.name,
			"sequence": sync_log.sequence,
			"creation": str(sync_log.creation),
		}
	)
	with acting_as(producer.user):
		if subscription is None or subscription.local_doctype != sync_log.ref_doctype:
			problem = _("This site no longer subscribes to {0} from this producer.").format(
				sync_log.ref_doctype
			)
		elif problem:
			problem = _("The producer sent a log that cannot be applied: {0}.").format(problem)
		if problem:
			unsubscribed = apply.Subscription(remote_doctype, sync_log.ref_doctype, use_same_name=False)
			applier.record(
				{"docname": sync_log.producer_doc},
				subscription or unsubscribed,
				"Failed",
				error=problem,
				sync_log=sync_log.name,
			)
		else:
			applier.apply_isolated(row, subscription, sync_log=sync_log.name)
	return frappe.db.get_value("Event Sync Log", sync_log.name, "status")


def applier_remote_doctype(sync_log) -> str:
	if sync_log.mapping:
		return frappe.db.get_value("Document Type Mapping", sync_log.mapping, "remote_doctype")
	return sync_log.ref_doctype
