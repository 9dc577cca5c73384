# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Functions the test suite names in ``cmd:`` conditions. Never registered in hooks.py: the test
script lists them in the producer's site_config.json (key ``event_streaming_conditions``), so
only test sites accept them (unregistered functions are refused)."""


def can_sync_note(consumer, doc, update_log) -> bool:
	return bool(doc.get("public"))


def insert_todo_slowly(description: str, seconds: float) -> None:
	"""Run on the producer by `bench execute`: a transaction that writes a log, then stays open."""
	import time

	import frappe

	frappe.set_user("Administrator")
	frappe.get_doc({"doctype": "ToDo", "description": description}).insert()
	time.sleep(float(seconds))
	frappe.db.commit()
