# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Before the schema changes: the original app kept Event Sync Log ``use_same_name`` as text
("0", "1" or empty), which becomes a Check (an integer column that cannot hold empty or NULL).
Runs before model sync, so the column change finds only "0" and "1"."""

import frappe
from frappe.query_builder import Case
from frappe.query_builder.functions import Coalesce
from pypika.functions import Trim


def execute():
	if not frappe.db.table_exists("Event Sync Log"):
		return
	if not is_text_column(column_type("tabEvent Sync Log", "use_same_name")):
		return  # already an integer column: nothing from the original to convert
	log = frappe.qb.DocType("Event Sync Log")
	ticked = Trim(Coalesce(log.use_same_name, "")).isin(["1", "true", "True"])
	# one statement over the whole table, before its type changes
	frappe.qb.update(log).set(log.use_same_name, Case().when(ticked, "1").else_("0")).run()


def column_type(table: str, column: str) -> str | None:
	"""The column's type in this site's own database (other sites' tables share the server's
	information_schema on MariaDB, so the schema is named)."""
	schema = "current_schema()" if frappe.db.db_type == "postgres" else "DATABASE()"
	found = frappe.db.sql(
		f"""SELECT data_type FROM information_schema.columns
		WHERE table_schema = {schema} AND table_name = %s AND column_name = %s""",
		(table, column),
	)  # nosemgrep: no query builder form for the current schema
	return found[0][0] if found else None


def is_text_column(column_type: str | None) -> bool:
	"""MariaDB names a text column varchar(140), text, longtext...; PostgreSQL character varying or text."""
	column_type = (column_type or "").lower()
	return "char" in column_type or "text" in column_type
