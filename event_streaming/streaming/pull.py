# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Pull a producer's feed page by page and apply it (consumer side).

Only one pull per producer runs at a time, across all workers (a database lock). Each page is
applied and committed together with the cursor that covers it, so a worker killed mid-page
re-reads that page and skips what it had applied (the Event Sync Log knows every applied log).
v2 producers page by commit-order sequence and are acknowledged after each commit; original (v1)
producers are read by timestamp with an overlap window behind the watermark.
"""

import json

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from event_streaming.streaming import apply, cursor, jobs, payload, transport

FEED_V2_METHOD = "event_streaming.api.get_update_log_page"
ACK_METHOD = "event_streaming.api.acknowledge_update_logs"
FEED_V1_METHOD = (
	"event_streaming.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer"
)
PULL_JOB = "event_streaming.streaming.pull.pull_job"
V1_CHUNK = 500


def pull_key(event_producer: str) -> str:
	return f"pull::{event_producer}"


def request_pull(event_producer: str) -> None:
	"""Queue a pull of this producer; a pull already running will go round once more."""
	jobs.request_run(
		pull_key(event_producer), PULL_JOB, queue="long", timeout=3600, event_producer=event_producer
	)


def pull_job(event_producer: str) -> None:
	if not frappe.db.exists("Event Producer", event_producer):
		return
	jobs.run_coalesced(pull_key(event_producer), lambda: pull(event_producer), wait=0)


def pull_now(event_producer: str, wait: int = 120) -> int:
	"""Pull synchronously (tests, the Pull Now button, bench commands); returns logs applied."""
	jobs.mark_pending(pull_key(event_producer))
	counter = {"applied": 0}

	def work():
		counter["applied"] += pull(event_producer)

	if not jobs.run_coalesced(pull_key(event_producer), work, wait=wait):
		frappe.throw(_("Another pull of {0} is still running; try again shortly.").format(event_producer))
	return counter["applied"]


def pull_all_producers() -> None:
	"""Scheduler safety net: pull every producer now and then, even without a notification."""
	interval = frappe.db.get_single_value("Event Streaming Settings", "pull_interval_minutes") or 5
	for name, last_pull_at in frappe.get_all("Event Producer", fields=["name", "last_pull_at"], as_list=True):
		if not last_pull_at or (now_datetime() - last_pull_at).total_seconds() >= interval * 60:
			request_pull(name)


def pull(event_producer_name: str) -> int:
	"""Apply everything the producer has for us; the caller holds the producer's lock."""
	producer = frappe.get_doc("Event Producer", event_producer_name)
	user = frappe.session.user
	frappe.set_user(producer.user)
	try:
		applier = apply.Applier(producer)
		if producer.protocol_version == "v2":
			applied = pull_v2(producer, applier)
		else:
			applied = pull_v1(producer, applier)
		set_pull_status(producer.name, None)
	except transport.PeerError as error:
		frappe.db.rollback()
		set_pull_status(producer.name, str(error))
		raise
	finally:
		frappe.set_user(user)
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
				delivered=[row["name"] for row in page["logs"]],
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
		last_update=cursor.v1_request_watermark(position.last_update),
	)
	if not isinstance(reply, list):
		raise transport.PeerError(_("The producer's feed is not a list of logs."))
	rows = []
	for raw in reply:
		try:
			rows.append(payload.check_feed_row(raw))
		except payload.PayloadError as error:
			frappe.log_error(
				title=_("Event Streaming: invalid log from {0}").format(producer.name), message=str(error)
			)
	applied = 0
	watermark = position.last_update
	for start in range(0, len(rows), V1_CHUNK):
		chunk = rows[start : start + V1_CHUNK]
		applied += len(applier.apply_page(chunk))
		for row in chunk:
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
		"Event Producer Last Update", name, ["name", "last_update", "last_sequence"], as_dict=True
	)


def set_pull_status(event_producer: str, error: str | None) -> None:
	frappe.db.set_value(
		"Event Producer",
		event_producer,
		{"last_pull_at": now_datetime(), "last_pull_error": error},
		update_modified=False,
	)
	frappe.db.commit()  # nosemgrep: status of the pull, kept even when the pull failed


def retry_failed_logs() -> None:
	"""Scheduler: retry failed logs whose backoff expired, oldest first, in document order."""
	max_retries = frappe.db.get_single_value("Event Streaming Settings", "max_retries") or 0
	log = frappe.qb.DocType("Event Sync Log")
	due = (
		frappe.qb.from_(log)
		.select(log.name, log.event_producer, log.producer_doc, log.creation)
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
			if resync(entry.name) != "Synced":
				failed_docs.add(key)
			frappe.db.commit()  # nosemgrep: each retried log stands alone


def has_earlier_failure(entry) -> bool:
	"""Per-document order: a log waits while an older change of its document is still Failed."""
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


def resync(sync_log_name: str) -> str:
	"""Apply a failed log again from what its Event Sync Log kept; returns the new status."""
	sync_log = frappe.get_doc("Event Sync Log", sync_log_name)
	producer = frappe.get_doc("Event Producer", sync_log.event_producer)
	applier = apply.Applier(producer)
	subscription = apply.Subscription(
		remote_doctype=applier_remote_doctype(sync_log),
		local_doctype=sync_log.ref_doctype,
		use_same_name=bool(int(sync_log.use_same_name or 0)),
		mapping=sync_log.mapping or None,
	)
	row = {
		"update_type": sync_log.update_type,
		"ref_doctype": subscription.remote_doctype,
		"docname": sync_log.producer_doc,
		"data": payload.parse_json(sync_log.data, "the stored data"),
		"name": sync_log.update_log,
		"sequence": sync_log.sequence,
	}
	user = frappe.session.user
	frappe.set_user(producer.user)
	try:
		applier.apply_isolated(row, subscription, sync_log=sync_log.name)
	finally:
		frappe.set_user(user)
	return frappe.db.get_value("Event Sync Log", sync_log.name, "status")


def applier_remote_doctype(sync_log) -> str:
	if sync_log.mapping:
		return frappe.db.get_value("Document Type Mapping", sync_log.mapping, "remote_doctype")
	return sync_log.ref_doctype
