# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Endpoints that are ours, not the original's contract: the v2 feed, acknowledgements,
batched document fetches for dependencies, capabilities and bulk resync. Each is a thin shim."""

import frappe
from frappe import _

from event_streaming.streaming import feed, pull, registration


@frappe.whitelist(methods=["GET", "POST"])
def get_capabilities() -> dict:
	"""Lets a consumer tell a v2 producer from an original one (which answers 404)."""
	return registration.capabilities()


@frappe.whitelist(methods=["POST"])
def get_update_log_page(event_consumer: str, after: int = 0, limit: int | None = None) -> dict:
	"""v2 feed: the next page of logs after the ``after`` sequence. Reads only."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return feed.get_page(consumer, int(after or 0), limit)


@frappe.whitelist(methods=["POST"])
def acknowledge_update_logs(
	event_consumer: str, cursor: int, delivered: list[str] | str | None = None
) -> int:
	"""v2: the consumer applied and committed everything up to ``cursor``."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	return feed.acknowledge(consumer, int(cursor or 0), frappe.parse_json(delivered) or [])


@frappe.whitelist(methods=["POST"])
def get_documents(doctype: str, names: list[str] | str) -> list[dict]:
	"""Full documents (with child rows) for dependency syncing, in one round trip."""
	frappe.has_permission(doctype, "read", throw=True)
	names = frappe.parse_json(names) or []
	if not isinstance(names, list) or len(names) > 500:
		frappe.throw(_("Give a list of at most 500 names."))
	documents = []
	for name in names:
		if not frappe.db.exists(doctype, name):
			continue
		doc = frappe.get_doc(doctype, name)
		if doc.has_permission("read"):
			documents.append(doc.as_dict(no_nulls=True, convert_dates_to_str=True))
	return documents


@frappe.whitelist(methods=["POST"])
def resync_failed_logs(names: list[str] | str) -> int:
	"""Resync the selected failed Event Sync Logs; returns how many are now Synced."""
	frappe.has_permission("Event Sync Log", "write", throw=True)
	synced = 0
	for name in frappe.parse_json(names) or []:
		if (
			frappe.db.get_value("Event Sync Log", name, "status") == "Failed"
			and pull.resync(name) == "Synced"
		):
			synced += 1
	return synced
