# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The original (v1) protocol, both ways: our producer serves the original's feed shapes to an
original-style consumer, and our consumer replicates from a producer through the v1 feed."""

import json
import time

import frappe

from event_streaming.streaming import protocol, transport
from event_streaming.tests.utils import PRODUCER_URL, TwoSiteTestCase, pull_all, unique

FEED_V1 = (
	"event_streaming.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer"
)
V1_KEYS = {"update_type", "ref_doctype", "docname", "data", "name", "creation"}


class TestOriginalConsumerFeed(TwoSiteTestCase):
	"""Read the v1 feed exactly as an original consumer does: everything after its watermark, plus
	late commits behind it that it was never served."""

	subscribe = [{"ref_doctype": "ToDo"}, {"ref_doctype": "Note"}]

	def setUp(self):
		super().setUp()
		producer_doc = frappe.get_doc("Event Producer", PRODUCER_URL)
		self.peer = transport.producer_peer(producer_doc)
		self.watermark = frappe.db.get_value("Event Producer Last Update", PRODUCER_URL, "last_update")

	def read_feed(self, last_update):
		return self.peer.call(
			FEED_V1,
			event_consumer=frappe.utils.get_url(),
			doctypes=json.dumps(["ToDo", "Note"]),
			last_update=last_update,
		)

	def test_rows_have_the_original_shape_and_are_served_once(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("v1")})
		self.producer.update("ToDo", todo["name"], {"description": "v1 changed"})
		self.producer.delete("ToDo", todo["name"])
		rows = [row for row in self.read_feed(self.watermark) if row["docname"] == todo["name"]]
		self.assertEqual([row["update_type"] for row in rows], ["Create", "Update", "Delete"])
		for row in rows:
			self.assertEqual(set(row), V1_KEYS)
		create, update, delete = rows
		self.assertEqual(json.loads(create["data"])["description"], todo["description"])
		self.assertEqual(
			json.loads(update["data"]),
			{"added": {}, "changed": {"description": "v1 changed"}, "removed": {}, "row_changed": {}},
		)
		self.assertTrue(
			update["data"].startswith('{\n "added"'), "frappe.as_json layout: sorted keys, indent 1"
		)
		self.assertIsNone(delete["data"])
		self.assertLess(create["creation"], update["creation"])
		# once applied, the consumer asks from the last row's creation: nothing is repeated
		self.assertEqual(
			[row for row in self.read_feed(delete["creation"]) if row["docname"] == todo["name"]], []
		)

	def test_a_consumer_killed_between_fetch_and_apply_is_served_the_same_logs_again(self):
		"""An original consumer moves its watermark only as it applies: killed after fetching, it
		asks again from the same watermark and must get the same logs (as the original serves)."""
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("v1 crash")})
		self.producer.update("ToDo", todo["name"], {"description": "v1 crash changed"})
		fetched = [row for row in self.read_feed(self.watermark) if row["docname"] == todo["name"]]
		self.assertEqual([row["update_type"] for row in fetched], ["Create", "Update"])
		# killed here: nothing applied, the watermark did not move
		again = [row for row in self.read_feed(self.watermark) if row["docname"] == todo["name"]]
		self.assertEqual(again, fetched)
		# a consumer killed after applying the Create only resumes from its creation
		resumed = [row for row in self.read_feed(fetched[0]["creation"]) if row["docname"] == todo["name"]]
		self.assertEqual([row["name"] for row in resumed], [fetched[1]["name"]])

	def test_late_commit_is_served_behind_the_watermark(self):
		"""An original consumer's watermark passes a log that commits late; we still serve it."""
		slow_description = unique("v1 slow")
		slow = self.producer.execute(
			"event_streaming.tests.fixtures.insert_todo_slowly", description=slow_description, seconds=5
		)
		time.sleep(2.5)
		fast = self.producer.insert({"doctype": "ToDo", "description": unique("v1 fast")})
		rows = self.read_feed(self.watermark)
		self.assertIn(fast["name"], [row["docname"] for row in rows])
		watermark = rows[-1]["creation"]
		self.assertEqual(slow.wait(timeout=60), 0)
		late = self.read_feed(watermark)
		self.assertIn(
			slow_description, [json.loads(row["data"]).get("description") for row in late if row["data"]]
		)


class TestConsumerOfOriginalProducer(TwoSiteTestCase):
	"""Our consumer, told the producer speaks only v1, replicates through the timestamp feed."""

	subscribe = [{"ref_doctype": "ToDo"}, {"ref_doctype": "Note"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		frappe.db.set_value("Event Producer", PRODUCER_URL, "protocol_version", "v1")
		frappe.db.commit()

	def setUp(self):
		super().setUp()
		# an original producer would answer the protocol check with v1: do not ask ours
		frappe.cache.set_value(protocol.protocol_check_key(PRODUCER_URL), 1, expires_in_sec=600)

	def test_insert_update_delete_through_v1(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("via v1")})
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", todo["name"], "description"), todo["description"])
		self.producer.update("ToDo", todo["name"], {"description": "via v1 updated"})
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", todo["name"], "description"), "via v1 updated")
		self.producer.delete("ToDo", todo["name"])
		pull_all()
		self.assertFalse(frappe.db.exists("ToDo", todo["name"]))

	def test_overlap_window_never_applies_twice(self):
		note = self.producer.insert({"doctype": "Note", "title": unique("overlap"), "content": "x"})
		pull_all()
		pull_all()
		self.assertEqual(frappe.db.count("Event Sync Log", {"producer_doc": note["name"]}), 1)
