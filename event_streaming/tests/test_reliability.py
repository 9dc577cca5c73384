# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Nothing lost, nothing applied twice: late commits, concurrent and killed pulls, poison logs."""

import json
import os
import signal
import subprocess
import time

import frappe

from event_streaming.streaming import apply, diff, pull
from event_streaming.tests.utils import PRODUCER_URL, TwoSiteTestCase, producer, pull_all, unique


class TestCommitOrder(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_log_of_a_transaction_that_commits_late_is_still_delivered(self):
		"""T1 writes its log first but commits after T2's log was served; T1 must still arrive."""
		slow_description = unique("slow")
		slow = self.producer.execute(
			"event_streaming.tests.fixtures.insert_todo_slowly", description=slow_description, seconds=6
		)
		time.sleep(3)  # T1 has inserted its ToDo and its log, and is still open
		fast = self.producer.insert({"doctype": "ToDo", "description": unique("fast")})
		pull_all()
		self.assertTrue(frappe.db.exists("ToDo", fast["name"]))
		self.assertEqual(slow.wait(timeout=60), 0, slow.stdout.read())

		pull_all()
		self.assertTrue(frappe.db.exists("ToDo", {"description": slow_description}))
		slow_name = frappe.db.get_value("ToDo", {"description": slow_description})
		sequences = {
			row["docname"]: row["sequence"]
			for row in self.producer.get_list(
				"Event Update Log",
				filters={"update_type": "Create", "docname": ["in", [slow_name, fast["name"]]]},
				fields=["docname", "sequence"],
			)
		}
		# numbered in commit order: the log written first but committed last comes last
		self.assertGreater(sequences[slow_name], sequences[fast["name"]])


class TestExactlyOnce(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo", "use_same_name": 0}]

	def test_local_naming_keeps_remote_identity(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("naming")})
		pull_all()
		local = frappe.db.get_value(
			"ToDo",
			{"remote_docname": todo["name"], "remote_site_name": PRODUCER_URL},
			["name", "description"],
			as_dict=True,
		)
		self.assertIsNotNone(local)
		self.assertEqual(local.description, todo["description"])

		self.producer.update("ToDo", todo["name"], {"description": "renamed locally, updated remotely"})
		pull_all()
		self.assertEqual(
			frappe.db.get_value("ToDo", local.name, "description"), "renamed locally, updated remotely"
		)
		self.producer.delete("ToDo", todo["name"])
		pull_all()
		self.assertFalse(frappe.db.exists("ToDo", local.name))

	def test_concurrent_pulls_create_no_duplicates(self):
		names = [
			self.producer.insert({"doctype": "ToDo", "description": unique("race")})["name"]
			for _ in range(30)
		]
		pullers = [self.run_pull_in_subprocess() for _ in range(2)]
		pull_all()
		for process in pullers:
			process.wait(timeout=300)
		pull_all()
		for name in names:
			self.assertEqual(
				frappe.db.count("ToDo", {"remote_docname": name, "remote_site_name": PRODUCER_URL}), 1
			)

	def test_pull_killed_mid_way_resumes_without_loss_or_duplicates(self):
		self.producer.set_settings(feed_page_size=5)
		try:
			names = [
				self.producer.insert({"doctype": "ToDo", "description": unique("killed")})["name"]
				for _ in range(40)
			]
			puller = self.run_pull_in_subprocess()
			time.sleep(4)
			os.kill(puller.pid, signal.SIGKILL)
			puller.wait(timeout=30)
			pull_all()
		finally:
			self.producer.set_settings(feed_page_size=500)
		for name in names:
			self.assertEqual(
				frappe.db.count("ToDo", {"remote_docname": name, "remote_site_name": PRODUCER_URL}), 1
			)

	def run_pull_in_subprocess(self) -> subprocess.Popen:
		bench = frappe.utils.get_bench_path()
		return subprocess.Popen(
			[
				os.path.join(bench, "env", "bin", "python"),
				"-m",
				"frappe.utils.bench_helper",
				"frappe",
				"--site",
				frappe.local.site,
				"execute",
				"event_streaming.streaming.pull.pull_now",
				"--args",
				json.dumps([PRODUCER_URL]),
			],
			cwd=os.path.join(bench, "sites"),
			stdout=subprocess.DEVNULL,
			stderr=subprocess.DEVNULL,
		)


class TestPoisonLog(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.role = unique("ES Poison Role")
		producer().insert({"doctype": "Role", "role_name": cls.role, "desk_access": 1})

	@classmethod
	def tearDownClass(cls):
		frappe.delete_doc("Role", cls.role, force=True, ignore_missing=True)
		frappe.db.commit()
		super().tearDownClass()
		producer().delete_if_exists("Role", cls.role)

	def test_poison_log_fails_alone_waits_in_order_and_resyncs(self):
		"""A ToDo linking a Role the consumer lacks (Roles are never fetched) fails; others go on."""
		poison = self.producer.insert({"doctype": "ToDo", "description": unique("poison"), "role": self.role})
		self.producer.update("ToDo", poison["name"], {"description": "poison, later change"})
		healthy = self.producer.insert({"doctype": "ToDo", "description": unique("healthy")})
		pull_all()

		self.assertTrue(frappe.db.exists("ToDo", healthy["name"]))
		self.assertFalse(frappe.db.exists("ToDo", poison["name"]))
		failed = frappe.get_all(
			"Event Sync Log",
			filters={"producer_doc": poison["name"], "status": "Failed"},
			fields=["name", "update_type", "error", "data"],
			order_by="creation asc",
		)
		self.assertEqual([row.update_type for row in failed], ["Create", "Update"])
		self.assertIn(self.role, failed[0].error)
		self.assertIn("earlier failed change", failed[1].error)

		# automatic retry while the cause persists: still failed, retry counted
		frappe.db.set_value(
			"Event Sync Log", failed[0].name, "next_retry_at", frappe.utils.add_days(None, -1)
		)
		frappe.db.commit()
		pull.retry_failed_logs()
		self.assertEqual(frappe.db.get_value("Event Sync Log", failed[0].name, "retry_count"), 1)
		self.assertFalse(frappe.db.exists("ToDo", poison["name"]))

		# the operator fixes the cause and presses Resync on both logs, in order
		frappe.get_doc({"doctype": "Role", "role_name": self.role, "desk_access": 1}).insert()
		frappe.db.commit()
		from event_streaming.event_streaming.doctype.event_producer.event_producer import resync

		for row in failed:
			status = resync(json.dumps({"name": row.name}))
			self.assertEqual(status, "Synced", frappe.db.get_value("Event Sync Log", row.name, "error"))
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("ToDo", poison["name"], "description"), "poison, later change")


class TestPageLookups(TwoSiteTestCase):
	"""A page's documents are looked up in one query per DocType; what changes meanwhile is seen."""

	subscribe = [{"ref_doctype": "ToDo"}, {"ref_doctype": "Note"}]

	def applier(self):
		return apply.Applier(frappe.get_doc("Event Producer", PRODUCER_URL))

	def test_update_of_a_document_fetched_as_a_dependency_earlier_in_the_page(self):
		"""The page index says the Note is absent; the ToDo before it fetches it; its Update applies."""
		note = self.producer.insert({"doctype": "Note", "title": unique("dependency note"), "content": "v1"})
		todo = self.producer.insert(
			{
				"doctype": "ToDo",
				"description": unique("points at a note"),
				"reference_type": "Note",
				"reference_name": note["name"],
			}
		)
		# let the notified pull run, then forget both here: the page below must fetch the Note
		pull_all()
		frappe.delete_doc("ToDo", todo["name"], force=True, ignore_missing=True)
		frappe.delete_doc("Note", note["name"], force=True, ignore_missing=True)
		frappe.db.commit()
		rows = [
			feed_row("Create", "ToDo", todo["name"], self.producer.get("ToDo", todo["name"])),
			feed_row("Update", "Note", note["name"], {**diff.empty_diff(), "changed": {"content": "v3"}}),
		]
		applied = self.applier().apply_page(rows)
		frappe.db.commit()

		self.assertEqual(applied, [row["name"] for row in rows])
		self.assertEqual(frappe.db.count("Note", {"name": note["name"]}), 1)
		self.assertEqual(frappe.db.get_value("Note", note["name"], "content"), "v3")

	def test_create_of_a_hash_named_document_already_here_makes_no_second_copy(self):
		"""Frappe renames a hash-named insert whose name is taken; the copy must not stay."""
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("only once")})
		pull_all()
		applier = self.applier()
		row = feed_row("Create", "ToDo", todo["name"], self.producer.get("ToDo", todo["name"]))
		applier.local_names[("ToDo", todo["name"])] = None  # stale: made before the ToDo arrived

		self.assertEqual(applier.apply_isolated(row, applier.subscriptions["ToDo"]), "Failed")
		applier.write_sync_logs()
		frappe.db.commit()

		self.assertEqual(frappe.db.count("ToDo", {"description": todo["description"]}), 1)
		failed = frappe.db.get_value(
			"Event Sync Log", {"update_log": row["name"]}, ["name", "error"], as_dict=True
		)
		self.assertIn("already exists", failed.error)
		# its automatic retry looks the document up and finds it: synced, still one copy
		frappe.db.set_value("Event Sync Log", failed.name, "next_retry_at", frappe.utils.add_days(None, -1))
		frappe.db.commit()
		pull.retry_failed_logs()
		self.assertEqual(frappe.db.get_value("Event Sync Log", failed.name, "status"), "Synced")
		self.assertEqual(frappe.db.count("ToDo", {"description": todo["description"]}), 1)


def feed_row(update_type: str, doctype: str, docname: str, data: dict) -> dict:
	"""A checked feed row, as apply receives it, for a log this site has never seen."""
	return {
		"name": unique("log"),
		"update_type": update_type,
		"ref_doctype": doctype,
		"docname": docname,
		"data": data,
		"creation": frappe.utils.now(),
		"sequence": 0,
	}
