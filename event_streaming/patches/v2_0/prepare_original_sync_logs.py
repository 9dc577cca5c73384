# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Before the schema changes: the original app kept Event Sync Log ``use_same_name`` as text
("0", "1" or empty), which becomes a Check (an integer column that cannot hold empty or NULL).
Runs before model sync, so the column change finds only "0" and "1"."""

import frappe


def execute():
	if not frappe.db.table_exists("Event Sync Log"):
		return
	column_type = frappe.db.sql(
		"""SELECT DATA_TYPE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'tabEvent Sync Log' AND COLUMN_NAME = 'use_same_name'"""
	)  # nosemgrep: no query builder form for information_schema
	if not column_type or column_type[0][0].lower() not in ("varchar", "text", "longtext"):
		return  # already an integer column: nothing from the original to convert
	frappe.db.sql(
		"""UPDATE `tabEvent Sync Log`
		SET use_same_name = IF(TRIM(COALESCE(use_same_name, '')) IN ('1', 'true', 'True'), '1', '0')"""
	)  # nosemgrep: one statement over the whole table, before its type changes
