# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""In-place upgrade from the original app, both roles: the sites hold what the original left behind
(logs without sequence, served marks, sync logs that do not name their log, an Event Producer with a
blank protocol and a timestamp watermark); after the upgrade patch nothing is lost and nothing the
original applied is applied again."""

import json

import frappe

from event_streaming.patches.v2_0 import upgrade_from_original
from event_streaming.streaming import jobs, protocol, pull
from event_streaming.tests.utils import PRODUCER_URL, TwoSiteTestCase, pull_all, unique, wait_for


class TestUpgradeFromOriginal(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def setUp(self):
		super().setUp()
		frappe.cache.delete_value(protocol.protocol_check_key(PRODUCER_URL))
		self.prefix = unique("upgrade")
		self.kept = self.producer.insert({"doctype": "ToDo", "description": f"{self.prefix} kept"})
		self.producer.update("ToDo", self.kept["name"], {"description": f"{self.prefix} kept v2"})
		self.gone = self.producer.insert({"doctype": "ToDo", "description": f"{self.prefix} gone"})
		self.producer.update("ToDo", self.gone["name"], {"description": f"{self.prefix} gone v2"})
		self.producer.delete("ToDo", self.gone["name"])
		pull_all()  # what the original applied before the upgrade
		self.original_logs = self.producer.get_list(
			"Event Update Log",
			filters={"docname": ["in", [self.kept["name"], self.gone["name"]]]},
			fields=["name", "creation"],
		)
		self.assertEqual(len(self.original_logs), 5)
		self.make_sites_original(max(str(log["creation"]) for log in self.original_logs))

	def make_sites_original(self, watermark: str) -> None:
		"""Both sites as the original app left them, then upgraded in place (the patch of migrate)."""
		names = [log["name"] for log in self.original_logs]
		# the worker may pull any time: it asks the producer's protocol only when a test says so
		frappe.cache.set_value(protocol.protocol_check_key(PRODUCER_URL), 1, expires_in_sec=600)
		fabricate = self.producer.execute(
			"event_streaming.tests.upgrade_fixtures.make_logs_original",
			log_names=json.dumps(names),
			consumer=frappe.utils.get_url(),
		)
		self.assertEqual(fabricate.wait(timeout=120), 0, fabricate.stdout.read())
		patch = self.producer.execute("event_streaming.tests.upgrade_fixtures.run_upgrade_patch")
		self.assertEqual(patch.wait(timeout=120), 0, patch.stdout.read())
		# as during migrate, no pull runs between the original's state and the patch
		with jobs.exclusive(pull.pull_key(PRODUCER_URL), wait=120) as acquired:
			self.assertTrue(acquired)
			sync_log = frappe.qb.DocType("Event Sync Log")
			frappe.qb.update(sync_log).set(sync_log.update_log, None).set(sync_log.sequence, 0).where(
				sync_log.update_log.isin(names)
			).run()
			frappe.db.set_value("Event Producer", PRODUCER_URL, "protocol_version", "", update_modified=False)
			frappe.db.set_value(
				"Event Producer Last Update",
				{"event_producer": PRODUCER_URL},
				{"last_update": watermark, "last_sequence": 0, "original_watermark": None},
				update_modified=False,
			)
			upgrade_from_original.execute()
			frappe.db.commit()

	def sync_logs(self, docname: str) -> int:
		return frappe.db.count("Event Sync Log", {"event_producer": PRODUCER_URL, "producer_doc": docname})

	def assert_upgraded_without_loss_or_repeat(self, later: dict) -> None:
		self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"{self.prefix}%")}), 2)
		self.assertEqual(
			frappe.db.get_value("ToDo", self.kept["name"], "description"), f"{self.prefix} kept v3"
		)
		self.assertFalse(frappe.db.exists("ToDo", self.gone["name"]))
		self.assertEqual(frappe.db.get_value("ToDo", later["name"], "description"), later["description"])
		# the original's sync logs (2 and 3) plus one for the later change: nothing applied twice
		self.assertEqual(self.sync_logs(self.kept["name"]), 3)
		self.assertEqual(self.sync_logs(self.gone["name"]), 3)
		self.assertEqual(self.sync_logs(later["name"]), 1)
		self.assertEqual(
			frappe.db.count("Event Sync Log", {"event_producer": PRODUCER_URL, "status": "Failed"}), 0
		)

	def test_producer_logs_are_numbered_and_the_blank_protocol_is_set(self):
		logs = self.producer.get_list(
			"Event Update Log",
			filters={"name": ["in", [log["name"] for log in self.original_logs]]},
			fields=["sequence"],
		)
		self.assertTrue(all(log["sequence"] > 0 for log in logs), logs)
		self.assertEqual(frappe.db.get_value("Event Producer", PRODUCER_URL, "protocol_version"), "v1")
		position = frappe.db.get_value(
			"Event Producer Last Update",
			{"event_producer": PRODUCER_URL},
			["last_update", "original_watermark"],
			as_dict=True,
		)
		self.assertEqual(position.original_watermark, position.last_update)

	def test_upgraded_consumer_switches_to_v2_from_the_watermark(self):
		later = self.producer.insert({"doctype": "ToDo", "description": f"{self.prefix} later"})
		self.producer.update("ToDo", self.kept["name"], {"description": f"{self.prefix} kept v3"})
		frappe.cache.delete_value(protocol.protocol_check_key(PRODUCER_URL))  # a pull asks again
		pull_all()
		self.assertEqual(frappe.db.get_value("Event Producer", PRODUCER_URL, "protocol_version"), "v2")
		self.assertGreater(
			frappe.db.get_value(
				"Event Producer Last Update", {"event_producer": PRODUCER_URL}, "last_sequence"
			),
			0,
		)
		self.assert_upgraded_without_loss_or_repeat(later)

	def test_upgraded_consumer_of_a_still_original_producer_reads_v1_after_the_watermark(self):
		# the producer still runs the original: the pull reads the v1 feed (asked in the last minutes)
		later = self.producer.insert({"doctype": "ToDo", "description": f"{self.prefix} later"})
		self.producer.update("ToDo", self.kept["name"], {"description": f"{self.prefix} kept v3"})
		pull_all()
		self.assertEqual(frappe.db.get_value("Event Producer", PRODUCER_URL, "protocol_version"), "v1")
		self.assert_upgraded_without_loss_or_repeat(later)
		pull_all()  # the overlap window on the next pull repeats nothing either
		self.assert_upgraded_without_loss_or_repeat(later)


class TestOriginalJobPaths(TwoSiteTestCase):
	"""Jobs the original queued before the upgrade run after it, by the original's paths."""

	subscribe = [{"ref_doctype": "ToDo"}]

	def test_producer_jobs_queued_by_the_original_still_run(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("original job")})
		job = self.producer.execute(
			"event_streaming.tests.upgrade_fixtures.run_original_jobs", consumer=frappe.utils.get_url()
		)
		self.assertEqual(job.wait(timeout=120), 0, job.stdout.read())
		# the ping they ask for reaches this consumer, whose worker pulls
		wait_for(lambda: frappe.db.exists("ToDo", todo["name"]), timeout=60, message="the ToDo to arrive")

	def test_consumer_pull_job_runs_for_its_subscriber_and_no_one_else(self):
		pull_from_node = frappe.get_attr(
			"event_streaming.event_streaming.doctype.event_producer.event_producer.pull_from_node"
		)
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("original pull")})
		frappe.set_user("Guest")
		try:
			self.assertRaises(frappe.PermissionError, pull_from_node, event_producer=PRODUCER_URL)
		finally:
			frappe.set_user("Administrator")
		pull_from_node(event_producer=PRODUCER_URL)  # the job's user: the Event Subscriber
		frappe.db.commit()
		self.assertTrue(frappe.db.exists("ToDo", todo["name"]))
