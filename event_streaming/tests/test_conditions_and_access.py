# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Conditions decide what a consumer receives; only the consumer's own user may read its feed."""

import frappe

from event_streaming.streaming import transport
from event_streaming.tests.utils import (
	PRODUCER_URL,
	ProducerError,
	TwoSiteTestCase,
	make_event_producer,
	producer,
	pull_all,
	remove_event_producer,
	unique,
)

FEED = "event_streaming.api.get_update_log_page"
FEED_V1 = (
	"event_streaming.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer"
)


class TestExpressionCondition(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "Note", "condition": "doc.public == 1"}]

	def test_document_arrives_with_its_history_once_it_matches(self):
		note = self.producer.insert(
			{"doctype": "Note", "title": unique("cond"), "public": 0, "content": "draft"}
		)
		self.producer.update("Note", note["name"], {"content": "edited while private"})
		pull_all()
		self.assertFalse(frappe.db.exists("Note", note["name"]))

		self.producer.update("Note", note["name"], {"public": 1})
		pull_all()
		local = frappe.get_doc("Note", note["name"])
		self.assertEqual(local.content, "edited while private")
		self.assertEqual(local.public, 1)
		applied = frappe.get_all(
			"Event Sync Log",
			filters={"producer_doc": note["name"], "status": "Synced"},
			pluck="update_type",
			order_by="creation asc",
		)
		self.assertEqual(applied, ["Create", "Update", "Update"])

		self.producer.update("Note", note["name"], {"content": "public edit"})
		pull_all()
		self.assertEqual(frappe.db.get_value("Note", note["name"], "content"), "public edit")
		self.assertEqual(
			frappe.db.count("Event Sync Log", {"producer_doc": note["name"], "update_type": "Create"}), 1
		)


class TestRegisteredFunctionCondition(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "Note", "condition": "cmd: event_streaming.tests.fixtures.can_sync_note"}]

	def test_registered_function_decides(self):
		private = self.producer.insert({"doctype": "Note", "title": unique("cmd private"), "public": 0})
		public = self.producer.insert({"doctype": "Note", "title": unique("cmd public"), "public": 1})
		pull_all()
		self.assertFalse(frappe.db.exists("Note", private["name"]))
		self.assertTrue(frappe.db.exists("Note", public["name"]))


class TestUnregisteredFunctionCondition(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_unregistered_function_is_refused_and_nothing_is_left_behind(self):
		remove_event_producer()
		with self.assertRaises(frappe.ValidationError) as raised:
			make_event_producer([{"ref_doctype": "Note", "condition": "cmd: frappe.utils.now"}])
		self.assertIn("not registered", str(raised.exception))
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Event Producer", PRODUCER_URL))
		self.assertFalse(producer().exists("Event Consumer", frappe.utils.get_url()))


class TestFeedAccess(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.intruder = f"{frappe.generate_hash(length=6)}@intruder.example.com"
		producer().insert(
			{
				"doctype": "User",
				"email": cls.intruder,
				"first_name": "Intruder",
				"send_welcome_email": 0,
				"roles": [{"role": "System Manager"}],
			}
		)
		key, secret = producer().api_keys(cls.intruder)
		cls.intruder_peer = transport.Peer(PRODUCER_URL, key, secret)

	@classmethod
	def tearDownClass(cls):
		producer().delete_if_exists("User", cls.intruder)
		super().tearDownClass()

	def test_another_user_cannot_read_the_v2_feed(self):
		with self.assertRaises(transport.PeerError) as raised:
			self.intruder_peer.call(FEED, event_consumer=frappe.utils.get_url(), after=0)
		self.assertIn("registered", str(raised.exception))

	def test_another_user_cannot_read_the_v1_feed(self):
		with self.assertRaises(transport.PeerError):
			self.intruder_peer.call(
				FEED_V1, event_consumer=frappe.utils.get_url(), doctypes='["ToDo"]', last_update="2000-01-01"
			)

	def test_another_user_cannot_acknowledge(self):
		with self.assertRaises(transport.PeerError):
			self.intruder_peer.call(
				"event_streaming.api.acknowledge_update_logs",
				event_consumer=frappe.utils.get_url(),
				cursor=10**9,
			)
		acked = producer().get("Event Consumer", frappe.utils.get_url())["last_acked_sequence"]
		self.assertLess(acked, 10**9)

	def test_unsubscribed_doctype_is_not_served(self):
		doc = frappe.get_doc("Event Producer", PRODUCER_URL)
		doc.producer_doctypes[0].unsubscribe = 1
		doc.save()
		frappe.db.commit()
		try:
			remote = producer().get("Event Consumer", frappe.utils.get_url())
			self.assertEqual(remote["consumer_doctypes"][0]["unsubscribed"], 1)
			todo = self.producer.insert({"doctype": "ToDo", "description": unique("unsubscribed")})
			pull_all()
			self.assertFalse(frappe.db.exists("ToDo", todo["name"]))
		finally:
			doc.reload()
			doc.producer_doctypes[0].unsubscribe = 0
			doc.save()
			frappe.db.commit()
