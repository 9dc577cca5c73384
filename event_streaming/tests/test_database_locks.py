# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The database lock of jobs.exclusive, on whichever database this site runs (GET_LOCK on MariaDB,
advisory locks on PostgreSQL): one session at a time, waiting never breaks the caller's
transaction, and a failed statement under the lock neither keeps it nor hides the failure."""

import threading
import time

import frappe
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import feed, jobs
from event_streaming.tests.test_operations import in_own_connection, start_in_own_connection


def try_lock(key: str) -> bool:
	with jobs.exclusive(key, wait=0) as acquired:
		return acquired


def held_elsewhere(key: str) -> bool:
	"""Whether a session other than a new one holds ``key``'s lock."""
	return not in_own_connection(try_lock, key)


class TestDatabaseLocks(FrappeTestCase):
	def setUp(self):
		self.key = f"test::{frappe.generate_hash(length=8)}"

	def test_one_session_at_a_time(self):
		with jobs.exclusive(self.key) as acquired:
			self.assertTrue(acquired)
			self.assertTrue(held_elsewhere(self.key))
		self.assertFalse(held_elsewhere(self.key))

	def test_waiting_in_vain_leaves_the_transaction_usable(self):
		taken, release = threading.Event(), threading.Event()
		holder, outcome = start_in_own_connection(hold_until, self.key, taken, release)
		self.addCleanup(holder.join, 60)
		self.addCleanup(release.set)
		self.assertTrue(taken.wait(60), "the other session took the lock")
		todo = frappe.get_doc({"doctype": "ToDo", "description": "waits for a lock"}).insert()
		started = time.monotonic()
		with jobs.exclusive(self.key, wait=1) as acquired:
			self.assertFalse(acquired)
		self.assertGreaterEqual(time.monotonic() - started, 0.9)
		# the wait aborted nothing: this transaction's work is still there and it goes on
		self.assertTrue(frappe.db.exists("ToDo", todo.name))
		frappe.db.rollback()
		release.set()
		holder.join(60)
		self.assertNotIn("error", outcome)

	def test_a_failed_statement_under_the_lock_reaches_the_caller_and_frees_the_lock(self):
		with self.assertRaises(Exception) as raised:
			with jobs.exclusive(self.key):
				frappe.db.sql("SELECT no_such_column FROM `tabToDo`")
		self.assertTrue(frappe.db.is_missing_column(raised.exception), raised.exception)
		frappe.db.rollback()
		self.assertFalse(held_elsewhere(self.key))
		self.assertTrue(frappe.db.sql("SELECT 1"))

	def test_a_status_write_goes_through_a_concurrent_update_of_its_row(self):
		"""An acknowledgement and the notification job write the same Event Consumer row; on
		PostgreSQL (REPEATABLE READ) the later writer's update of a row changed since its snapshot
		began would fail instead of waiting."""
		todo = frappe.get_doc({"doctype": "ToDo", "description": "status row"}).insert()
		frappe.db.commit()
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.delete, "ToDo", {"name": todo.name})
		# this transaction's snapshot begins here, before the other session's update
		self.assertEqual(frappe.db.get_value("ToDo", todo.name, "description"), "status row")
		in_own_connection(frappe.db.set_value, "ToDo", todo.name, "description", "changed elsewhere")
		jobs.write_status(lambda: frappe.db.set_value("ToDo", todo.name, "priority", "High"))
		frappe.db.commit()
		self.assertEqual(
			frappe.db.get_value("ToDo", todo.name, ["description", "priority"]), ("changed elsewhere", "High")
		)

	def test_numbering_follows_creation_order(self):
		"""feed.number_in_order, the one statement that differs most between the databases."""
		log = frappe.qb.DocType("Event Update Log")
		names = []
		for position in range(3):
			name = frappe.generate_hash(length=10)
			created = frappe.utils.add_to_date(frappe.utils.now_datetime(), seconds=-position)
			frappe.db.sql(
				"INSERT INTO `tabEvent Update Log` (name, creation, modified, update_type, ref_doctype, docname)"
				" VALUES (%s, %s, %s, 'Create', 'ToDo', %s)",
				(name, created, created, name),
			)
			names.append(name)
		feed.number_in_order(names, 1_000_000_000)
		numbers = dict(frappe.qb.from_(log).select(log.name, log.sequence).where(log.name.isin(names)).run())
		# created newest first, so numbered in the reverse order of insertion
		self.assertEqual([numbers[name] for name in names], [1_000_000_003, 1_000_000_002, 1_000_000_001])
		frappe.db.rollback()


def hold_until(key: str, taken: threading.Event, release: threading.Event) -> None:
	"""Hold ``key``'s lock in this session from when ``taken`` is set until ``release`` is."""
	with jobs.exclusive(key) as acquired:
		assert acquired
		taken.set()
		release.wait(60)
