# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Functions the test suite names in ``cmd:`` conditions. Never registered in hooks.py: the test
script lists them in the producer's site_config.json (key ``event_streaming_conditions``), so
only test sites accept them (unregistered functions are refused)."""


def can_sync_note(consumer, doc, update_log) -> bool:
	return bool(doc.get("public"))


def note_condition_running_sql(consumer, doc, update_log) -> bool:
	"""A condition that runs SQL: a statement that fails for Notes titled "...broken-condition...";
	Notes titled "...passing-condition..." pass, all others fail. On PostgreSQL a failed statement
	aborts the transaction that serves the feed or chunk."""
	import frappe

	title = doc.get("title") or ""
	if "broken-condition" in title:
		frappe.db.sql("SELECT no_such_column FROM `tabNote` WHERE no_such_column = 1")
	return "passing-condition" in title


def insert_todo_slowly(description: str, seconds: float) -> None:
	"""Run on the producer by `bench execute`: a transaction that writes a log, then stays open."""
	import time

	import frappe

	frappe.set_user("Administrator")
	frappe.get_doc({"doctype": "ToDo", "description": description}).insert()
	time.sleep(float(seconds))
	frappe.db.commit()


def drop_doctype(doctype: str) -> None:
	"""Remove a DocType a test made, its table too (deleting a DocType leaves its table and rows, and
	a DocType made again under the name would find them). Run on the producer by `bench execute`,
	on the consumer directly."""
	import frappe

	frappe.delete_doc("DocType", doctype, force=True, ignore_missing=True)
	frappe.db.sql_ddl(f"DROP TABLE IF EXISTS `tab{doctype}`")  # nosemgrep: a test's own DocType
	frappe.db.commit()
