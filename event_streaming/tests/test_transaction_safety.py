# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""What PostgreSQL's transactions ask of the code that serves and applies changes: a failed
statement aborts the whole transaction unless it is rolled back to a savepoint; savepoints of one
name stack until released; a bigint name column refuses a comparison with text; names compare
case-sensitively; and under REPEATABLE READ a write to a row another session changed meanwhile
fails. The same scenarios run on MariaDB, where they must hold too."""

import threading
from unittest.mock import patch

import frappe

from event_streaming.streaming import apply, snapshot
from event_streaming.tests import fixtures
from event_streaming.tests.test_initial_sync import PREFIX, InitialSyncTestCase
from event_streaming.tests.test_operations import in_own_connection, start_in_own_connection
from event_streaming.tests.test_reliability import feed_row
from event_streaming.tests.utils import (
	PRODUCER_URL,
	TwoSiteTestCase,
	producer,
	pull_all,
	remove_event_producer,
	unique,
)

SQL_CONDITION = "cmd: event_streaming.tests.fixtures.note_condition_running_sql"
# a DocType named by a sequence (a bigint name column), made on both sites by the tests below
AUTOINCREMENT_DOCTYPE = "ES Autoincrement Probe"


def postgres() -> bool:
	return frappe.db.db_type == "postgres"


def savepoint_is_open(name: str) -> bool:
	"""Whether a savepoint ``name`` is open in this transaction (the transaction is rolled back)."""
	try:
		frappe.db.release_savepoint(name)
	except Exception:
		return False
	finally:
		frappe.db.rollback()
	return True


class TestConditionRunningFailingSql(TwoSiteTestCase):
	"""A registered cmd: condition whose SQL fails: on PostgreSQL its statement aborted the request's
	transaction, so the report of the failure and every later query failed and the feed (or the
	chunk) answered 500 for good. The failure now skips only the document it was judging."""

	subscribe = [{"ref_doctype": "Note", "condition": SQL_CONDITION}, {"ref_doctype": "ToDo"}]
	prefix = unique("sql condition")

	@classmethod
	def setUpClass(cls):
		remove_event_producer()
		# on the producer before this consumer subscribes: only an initial sync brings them
		cls.existing = {
			kind: [
				producer().insert({"doctype": "Note", "title": f"{cls.prefix} {kind} {index}"})["name"]
				for index in range(2)
			]
			for kind in ("broken-condition", "passing-condition")
		}
		super().setUpClass()

	@classmethod
	def tearDownClass(cls):
		for note in producer().get_list(
			"Note", filters={"title": ["like", f"{cls.prefix}%"]}, fields=["name"]
		):
			producer().delete_if_exists("Note", note["name"])
		frappe.db.delete("Note", {"title": ("like", f"{cls.prefix}%")})
		frappe.db.delete("ToDo", {"description": ("like", f"{cls.prefix}%")})
		frappe.db.delete(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL})
		frappe.db.commit()
		super().tearDownClass()

	def test_feed_still_answers_and_other_logs_arrive(self):
		# two failing evaluations: after the first, the second document's reads came to an aborted
		# transaction
		broken = [
			self.producer.insert({"doctype": "Note", "title": f"{self.prefix} broken-condition new {index}"})
			for index in range(2)
		]
		passing = self.producer.insert({"doctype": "Note", "title": f"{self.prefix} passing-condition new"})
		todo = self.producer.insert({"doctype": "ToDo", "description": f"{self.prefix} after the failure"})
		pull_all()
		self.assertTrue(frappe.db.exists("Note", passing["name"]))
		self.assertTrue(frappe.db.exists("ToDo", todo["name"]))
		for note in broken:
			self.assertFalse(frappe.db.exists("Note", note["name"]))

	def test_initial_sync_still_reads_chunks(self):
		(run_name,) = snapshot.start(PRODUCER_URL, "Note", enqueue=False)
		status = snapshot.run(run_name)
		run = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
		self.assertEqual(status, "Completed", run.error)
		self.assertEqual(run.failed, 0)
		for name in self.existing["passing-condition"]:
			self.assertTrue(frappe.db.exists("Note", name))
		for name in self.existing["broken-condition"]:
			self.assertFalse(frappe.db.exists("Note", name))


def ensure_autoincrement_doctype() -> None:
	"""The probe DocType on both sites (a custom DocType: no developer mode needed)."""
	definition = {
		"doctype": "DocType",
		"name": AUTOINCREMENT_DOCTYPE,
		"module": "Custom",
		"custom": 1,
		"autoname": "autoincrement",
		"naming_rule": "Autoincrement",
		"fields": [{"fieldname": "title", "label": "Title", "fieldtype": "Data"}],
		"permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}],
	}
	if not producer().exists("DocType", AUTOINCREMENT_DOCTYPE):
		producer().insert(definition)
	if not frappe.db.exists("DocType", AUTOINCREMENT_DOCTYPE):
		frappe.get_doc(definition).insert()
		frappe.db.commit()


def drop_autoincrement_doctype() -> None:
	process = producer().execute("event_streaming.tests.fixtures.drop_doctype", doctype=AUTOINCREMENT_DOCTYPE)
	output = process.communicate(timeout=300)[0]
	if process.returncode:
		raise AssertionError(f"could not drop {AUTOINCREMENT_DOCTYPE} on the producer: {output[-2000:]!r}")
	fixtures.drop_doctype(AUTOINCREMENT_DOCTYPE)


class TestNamesAsTheDatabaseHasThem(TwoSiteTestCase):
	"""A DocType named by a sequence: its names are numbers in a bigint column. And names on
	PostgreSQL compare case-sensitively."""

	subscribe = [{"ref_doctype": AUTOINCREMENT_DOCTYPE}, {"ref_doctype": "ToDo"}]
	prefix = unique("autoincrement")

	@classmethod
	def setUpClass(cls):
		remove_event_producer()
		drop_autoincrement_doctype()  # what a run that was killed left behind
		ensure_autoincrement_doctype()
		cls.existing = [
			producer().insert({"doctype": AUTOINCREMENT_DOCTYPE, "title": f"{cls.prefix} {index}"})
			for index in range(5)
		]
		super().setUpClass()

	@classmethod
	def tearDownClass(cls):
		frappe.db.delete(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL})
		frappe.db.delete("ToDo", {"description": ("like", f"{cls.prefix}%")})
		frappe.db.commit()
		super().tearDownClass()
		drop_autoincrement_doctype()

	def applier(self) -> apply.Applier:
		return apply.Applier(frappe.get_doc("Event Producer", PRODUCER_URL))

	def test_initial_sync_pages_by_number_and_resumes(self):
		self.assertTrue(all(isinstance(doc["name"], int) for doc in self.existing))
		(run_name,) = snapshot.start(PRODUCER_URL, AUTOINCREMENT_DOCTYPE, enqueue=False)
		# one chunk, then the worker was killed: the run resumes from the name it recorded (as text)
		snapshot.apply_chunk(run_name, snapshot.fetch_chunk(run_name, chunk_size=2))
		self.assertTrue(frappe.db.get_value(snapshot.RUN_DOCTYPE, run_name, "last_name"))
		frappe.db.set_value(snapshot.RUN_DOCTYPE, run_name, "status", "Running")
		frappe.db.commit()
		status = snapshot.run(run_name, chunk_size=2)
		run = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
		self.assertEqual(status, "Completed", run.error)
		self.assertEqual((run.processed, run.applied, run.failed), (5, 5, 0))
		for doc in self.existing:
			self.assertEqual(frappe.db.get_value(AUTOINCREMENT_DOCTYPE, doc["name"], "title"), doc["title"])

	def test_a_name_that_is_no_number_fails_alone(self):
		"""On PostgreSQL the page's lookup of its documents compared the bigint name column with the
		text, and the whole page failed; now that log fails alone and the next one applies."""
		number = 10**12 + int(frappe.generate_hash(length=6), 16)
		rows = [
			feed_row(
				"Create",
				AUTOINCREMENT_DOCTYPE,
				"not-a-number",
				{"doctype": AUTOINCREMENT_DOCTYPE, "name": "not-a-number", "title": f"{self.prefix} bad"},
			),
			feed_row(
				"Create",
				AUTOINCREMENT_DOCTYPE,
				str(number),
				{"doctype": AUTOINCREMENT_DOCTYPE, "name": str(number), "title": f"{self.prefix} good"},
			),
		]
		self.addCleanup(frappe.db.commit)
		self.addCleanup(frappe.db.delete, AUTOINCREMENT_DOCTYPE, {"title": ("like", f"{self.prefix}%")})
		applied = self.applier().apply_page(rows)
		frappe.db.commit()
		self.assertEqual(applied, [rows[1]["name"]])
		self.assertEqual(frappe.db.get_value(AUTOINCREMENT_DOCTYPE, number, "title"), f"{self.prefix} good")
		self.assertEqual(
			frappe.db.get_value("Event Sync Log", {"update_log": rows[0]["name"]}, "status"), "Failed"
		)

	def test_names_differing_in_case_are_different_documents_on_postgres(self):
		"""A page with both names: the lookup found the one here, and the other was taken for it
		(MariaDB's case-insensitive matching), so its Create made nothing."""
		if not postgres():
			self.skipTest("MariaDB's collation makes them one name")
		lower = f"esfold{frappe.generate_hash(length=8)}"
		frappe.get_doc({"doctype": "ToDo", "description": f"{self.prefix} lower"}).insert(set_name=lower)
		frappe.db.commit()
		upper = lower.upper()
		rows = self.todo_creates([lower, upper])
		self.assertEqual(self.applier().apply_page(rows), [row["name"] for row in rows])
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("ToDo", upper, "description"), f"{self.prefix} {upper}")
		self.assertEqual(frappe.db.get_value("ToDo", lower, "description"), f"{self.prefix} lower")
		self.assertEqual(
			frappe.db.get_value("Event Sync Log", {"update_log": rows[1]["name"]}, "docname"), upper
		)

	def todo_creates(self, names: list[str]) -> list[dict]:
		"""Feed rows creating a ToDo of each name."""
		return [
			feed_row(
				"Create",
				"ToDo",
				name,
				{"doctype": "ToDo", "name": name, "description": f"{self.prefix} {name}"},
			)
			for name in names
		]

	def test_the_savepoint_of_each_applied_log_is_released(self):
		"""On PostgreSQL savepoints of one name stack: left open, a page of 500 logs was 500 nested
		subtransactions. (MariaDB replaces a savepoint of the same name: nothing to release there.)"""
		if not postgres():
			self.skipTest("MariaDB's savepoints of one name do not stack")
		rows = self.todo_creates([unique("savepoint").replace(" ", "-") for _ in range(3)])
		self.assertEqual(len(self.applier().apply_page(rows)), 3)
		self.assertFalse(savepoint_is_open("event_streaming_apply"))

		applier = self.applier()
		name = unique("snapshot savepoint").replace(" ", "-")
		values = {"doctype": "ToDo", "name": name, "description": f"{self.prefix} {name}"}
		self.assertIsNone(snapshot.upsert_isolated(applier, applier.subscriptions["ToDo"], values))
		self.assertFalse(savepoint_is_open("event_streaming_snapshot"))


def repeatable_read_throughout(test) -> None:
	"""Frappe means its PostgreSQL transactions to run at REPEATABLE READ and sets that on the
	connection, but on Frappe 15 only a connection's first transaction does: its COMMIT and START
	TRANSACTION are plain SQL, and the next transactions run at the server's default, READ
	COMMITTED. Here every transaction of this session runs as Frappe means it to, until the test
	ends."""
	if postgres():
		session_isolation("REPEATABLE READ")
		test.addCleanup(session_isolation, "READ COMMITTED")


def session_isolation(level: str) -> None:
	frappe.db.sql(f"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {level}")  # nosemgrep
	frappe.db.commit()  # a SET is undone with a rolled-back transaction


def cancel_from_desk(run_name: str, loaded, progressed) -> None:
	"""The Cancel button: its request loads the run (on PostgreSQL its snapshot begins there), the
	run commits a chunk's progress meanwhile, then the request asks the run to stop."""
	frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
	loaded.set()
	progressed.wait(60)
	snapshot.cancel(run_name)


class TestCancelWhileAChunkIsApplied(InitialSyncTestCase):
	"""Cancel and the run write the same Event Initial Sync row; at REPEATABLE READ on PostgreSQL
	the later writer's update of a row changed since its snapshot began fails instead of waiting."""

	def test_a_cancel_committed_during_a_chunk_ends_the_run_cancelled(self):
		"""The run's progress write after the chunk failed, and the run ended Failed."""
		repeatable_read_throughout(self)
		run_name = self.start()
		upsert = snapshot.upsert
		cancelled = []

		def upsert_while_cancelled(*args, **kwargs):
			if not cancelled:
				# a System Manager presses Cancel: its own request, committed at once
				in_own_connection(snapshot.cancel, run_name)
				cancelled.append(run_name)
			return upsert(*args, **kwargs)

		with patch.object(snapshot, "upsert", upsert_while_cancelled):
			status = snapshot.run(run_name, chunk_size=2)
		run = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
		self.assertTrue(cancelled)
		self.assertEqual(status, "Cancelled", run.error)
		self.assertEqual((run.status, run.cancel_requested), ("Cancelled", 0))
		# the chunk during which Cancel came was kept, with its progress
		self.assertGreaterEqual(run.applied, 1)
		self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"{PREFIX}%")}), run.applied)

	def test_cancel_goes_through_a_progress_write_of_the_run(self):
		"""The Cancel request's update failed (the request answered with an error, the run went on)."""
		run_name = self.start()
		snapshot.set_run(run_name, status="Running")
		loaded, progressed = threading.Event(), threading.Event()
		desk, outcome = start_in_own_connection(cancel_from_desk, run_name, loaded, progressed)
		self.addCleanup(desk.join, 60)
		self.addCleanup(progressed.set)
		self.assertTrue(loaded.wait(60), "the Cancel request loaded the run")
		snapshot.set_run(run_name, processed=2, applied=2)
		progressed.set()
		desk.join(60)
		self.assertNotIn("error", outcome)
		frappe.db.commit()
		run = frappe.db.get_value(
			snapshot.RUN_DOCTYPE, run_name, ["status", "processed", "cancel_requested"], as_dict=True
		)
		self.assertEqual((run.status, run.processed, run.cancel_requested), ("Running", 2, 1))
		self.assertEqual(snapshot.run(run_name), "Cancelled")
