# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Endpoints that are ours, not the original's contract: the v2 feed, acknowledgements,
batched document fetches for dependencies, capabilities and bulk resync. Each is a thin shim."""

import frappe

from event_streaming.streaming import feed, health, protocol, pull, registration, snapshot

# Event Sync Logs one bulk resync may name (a list view selects at most a page of them)
MAX_RESYNC = 1000


@frappe.whitelist(methods=["GET", "POST"])
def get_capabilities() -> dict:
	"""Lets a consumer tell a v2 producer from an original one (which answers 404).
	Any logged-in user; reads nothing but the app's version."""
	return registration.capabilities()


@frappe.whitelist(methods=["POST"])
def receive_statuses(producer_url: str, statuses: dict | str) -> list[str]:
	"""Consumer side: a producer's approval decisions for this site's subscriptions to it. Only that
	Event Producer's Event Subscriber (the user whose keys the producer holds); sets nothing but the
	statuses of existing rows."""
	event_producer = registration.get_producer_for_caller(producer_url)
	return registration.receive_statuses(event_producer, registration.parse_statuses(statuses))


@frappe.whitelist(methods=["POST"])
def get_update_log_page(event_consumer: str, after: int = 0, limit: int | None = None) -> dict:
	"""v2 feed: the next page of logs after the ``after`` sequence. Only the consumer's registered
	user; reads only."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return feed.get_page(consumer, after, limit)


@frappe.whitelist(methods=["POST"])
def acknowledge_update_logs(
	event_consumer: str, cursor: int, delivered: list[str] | str | None = None
) -> int:
	"""v2: the consumer applied and committed everything up to ``cursor``. Only the consumer's
	registered user; writes the consumer's Acknowledged Up To and its served marks."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	delivered = feed.name_list_argument(delivered or [], "delivered", feed.MAX_DELIVERED)
	return feed.acknowledge(consumer, cursor, delivered)


@frappe.whitelist(methods=["POST"])
def get_documents(doctype: str, names: list[str] | str) -> list[dict]:
	"""Full documents (with child rows) for dependency syncing, in one round trip. Any user, for the
	documents they may read, as they may read them; never privilege-bearing DocTypes, Singles or
	child tables, never credentials. Reads only."""
	feed.check_servable_doctype(doctype)
	frappe.has_permission(doctype, "read", throw=True)
	return feed.serve_documents(doctype, feed.name_list_argument(names, "names", feed.MAX_DOCUMENTS))


@frappe.whitelist(methods=["POST"])
def resync_failed_logs(names: list[str] | str) -> int:
	"""Resync the selected failed Event Sync Logs; returns how many are now Synced. Who may write
	Event Sync Logs (System Manager). Holds each producer's pull lock meanwhile (a clear message if
	a pull keeps it busy); writes the logs' documents and sync logs."""
	frappe.has_permission("Event Sync Log", "write", throw=True)
	names = feed.name_list_argument(names, "names", MAX_RESYNC)
	statuses = pull.resync_logs(names)
	return sum(status == "Synced" for status in statuses.values())


@frappe.whitelist(methods=["POST"])
def get_sequence_at(event_consumer: str, since: str | None = None) -> int:
	"""A consumer switching from the v1 feed to v2: the cursor after which every log created after
	``since`` lies. Only the consumer's registered user; numbers committed logs, reads otherwise."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return protocol.sequence_at(consumer, since)


@frappe.whitelist(methods=["POST"])
def get_snapshot_chunk(
	event_consumer: str, doctype: str, after: str | None = None, limit: int | None = None
) -> dict:
	"""Initial sync: the next documents of ``doctype`` named after ``after``, with the log position
	read before them. Only the consumer's registered user, only its approved, subscribed DocTypes,
	only documents passing its condition, without secrets; reads only."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return snapshot.get_chunk(consumer, doctype, after, limit)


@frappe.whitelist(methods=["POST"])
def count_documents(event_consumer: str) -> dict:
	"""Initial sync: how many documents each approved, subscribed DocType has. Only the consumer's
	registered user; reads only."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return snapshot.count_documents(consumer)


@frappe.whitelist(methods=["POST"])
def get_initial_sync_counts(event_producer: str) -> list[dict]:
	"""Consumer side, for the confirmation before an initial sync: the producer's document count per
	subscribed DocType. Who may write the Event Producer (System Manager); reads only."""
	frappe.has_permission("Event Producer", "write", doc=event_producer, throw=True)
	counts = snapshot.producer_counts(event_producer)
	rows = frappe.get_all(
		"Event Producer Document Type",
		filters={"parent": event_producer, "parenttype": "Event Producer", "unsubscribe": 0},
		fields=["ref_doctype", "has_mapping", "mapping"],
		order_by="idx asc",
	)
	result = []
	for row in rows:
		remote = registration.remote_doctype_of(row)
		if remote in counts:
			result.append({"doctype": row.ref_doctype, "remote_doctype": remote, "count": counts[remote]})
	return result


@frappe.whitelist(methods=["POST"])
def start_initial_sync(event_producer: str, doctype: str | None = None) -> list[str]:
	"""Queue an initial sync of every subscribed DocType (or ``doctype``), resuming unfinished runs;
	returns the Event Initial Sync names. Who may write the Event Producer (System Manager)."""
	frappe.has_permission("Event Producer", "write", doc=event_producer, throw=True)
	return snapshot.start(event_producer, doctype or None)


@frappe.whitelist(methods=["POST"])
def get_feed_status(event_consumer: str, after: int | None = None) -> dict:
	"""Health: the newest sequence and how many logs the consumer still has to receive after
	``after`` (default: its acknowledged position). Only the consumer's registered user; reads only."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return health.feed_status(consumer, after)


@frappe.whitelist(methods=["GET"])
def get_peer_health(doctype: str, name: str) -> str:
	"""The health summary shown on an Event Producer or Event Consumer form, as escaped HTML. Who
	may read that record (System Manager); reads only (asks a v2 producer for its feed status)."""
	if doctype not in ("Event Producer", "Event Consumer"):
		frappe.throw(frappe._("Health is shown for Event Producers and Event Consumers only."))
	frappe.has_permission(doctype, "read", doc=name, throw=True)
	if doctype == "Event Producer":
		return health.summary_html(health.producer_health(name))
	return health.summary_html(health.consumer_health(name))
