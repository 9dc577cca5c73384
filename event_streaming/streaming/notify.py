# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Tell consumers that new logs are waiting (producer side).

One coalesced job per site numbers the committed logs and pings every approved consumer, each
with a timeout. A consumer that does not answer is retried with exponential backoff by the
scheduler; a dead peer never pins a worker, and the pull's own safety net covers lost pings.
"""

import time

import frappe
from frappe.utils import add_to_date, get_url, now_datetime

from event_streaming.streaming import feed, jobs, transport
from event_streaming.streaming.redaction import redact

NOTIFY_KEY = "notify"
NOTIFY_METHOD = "event_streaming.event_streaming.doctype.event_producer.event_producer.new_event_notification"
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
MIN_ROUND_SECONDS = 1.0
LAST_NOTIFIED_RESOLUTION_SECONDS = 60


def request_notification() -> None:
	jobs.request_run(NOTIFY_KEY, "event_streaming.streaming.notify.notify_consumers", queue="short")


def notify_consumers() -> None:
	"""Background job: number new logs, then ping every consumer that is due.

	While writes keep coming the job goes round again, at most once per MIN_ROUND_SECONDS: the
	changes of that second reach consumers in one ping instead of one ping per transaction."""
	last_round = [0.0]

	def round_of_pings():
		wait = MIN_ROUND_SECONDS - (time.monotonic() - last_round[0])
		if wait > 0:
			time.sleep(wait)
		last_round[0] = time.monotonic()
		notify_all_due()

	with jobs.failures_logged("Event Streaming: notifying consumers failed"):
		jobs.run_coalesced(NOTIFY_KEY, round_of_pings, wait=0)


def notify_all_due(include_backing_off: bool = False) -> None:
	feed.assign_sequences()
	now = now_datetime()
	for name in consumers_to_notify():
		consumer = frappe.get_doc("Event Consumer", name)
		if not include_backing_off and consumer.next_notify_at and consumer.next_notify_at > now:
			continue
		notify_one(consumer)
		frappe.db.commit()  # nosemgrep: delivery state of each consumer is independent


def retry_due_notifications() -> None:
	"""Scheduler: retry consumers whose backoff has expired."""
	consumer = frappe.qb.DocType("Event Consumer")
	due = (
		frappe.qb.from_(consumer)
		.select(consumer.name)
		.where(consumer.notify_failures > 0)
		.where(consumer.next_notify_at <= now_datetime())
		.run(pluck=True)
	)
	for name in due:
		with jobs.failures_logged("Event Streaming: notifying a consumer failed", "Event Consumer", name):
			notify_one(frappe.get_doc("Event Consumer", name))
			frappe.db.commit()  # nosemgrep: delivery state of each consumer is independent


def consumers_to_notify() -> list[str]:
	row = frappe.qb.DocType("Event Consumer Document Type")
	return (
		frappe.qb.from_(row)
		.select(row.parent)
		.distinct()
		.where((row.status == "Approved") & (row.unsubscribed == 0))
		.run(pluck=True)
	)


def notify_one(consumer) -> bool:
	try:
		transport.consumer_peer(consumer).call(NOTIFY_METHOD, producer_url=get_url())
	except Exception as error:
		failures = int(consumer.notify_failures or 0) + 1
		delay = min(BASE_BACKOFF_SECONDS * 2 ** (failures - 1), MAX_BACKOFF_SECONDS)
		status = {
			"notify_failures": failures,
			"next_notify_at": add_to_date(now_datetime(), seconds=delay),
			"last_notify_error": redact(str(error), jobs.known_secrets())[:1000],
		}
		jobs.write_status(
			lambda: frappe.db.set_value("Event Consumer", consumer.name, status, update_modified=False)
		)
		return False
	now = now_datetime()
	if needs_delivery_record(consumer, now):
		status = {
			"notify_failures": 0,
			"next_notify_at": None,
			"last_notify_error": None,
			"last_notified_at": now,
		}
		jobs.write_status(
			lambda: frappe.db.set_value("Event Consumer", consumer.name, status, update_modified=False)
		)
	return True


def needs_delivery_record(consumer, now) -> bool:
	"""Whether a successful ping must be written down: always after failures, otherwise at most once a
	minute. During a burst the job pings every second, and a row update plus commit each time competed
	with the writes being streamed."""
	if consumer.notify_failures or consumer.last_notify_error or not consumer.last_notified_at:
		return True
	return (now - consumer.last_notified_at).total_seconds() >= LAST_NOTIFIED_RESOLUTION_SECONDS
