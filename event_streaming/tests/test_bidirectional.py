# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Two sites that follow each other for the same DocType converge without ping-pong: a change
applied by replication carries its origin and is never served back to the site it came from."""

import frappe

from event_streaming.tests.utils import TwoSiteTestCase, producer, pull_all, unique

PULL_ON_PRODUCER = "event_streaming.event_streaming.doctype.event_producer.event_producer.pull_from_node"


class TestBidirectional(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.here = frappe.utils.get_url()
		settings = frappe.get_doc("Event Streaming Settings")
		settings.auto_approve = 1
		settings.auto_approve_consumers = cls.producer_url
		settings.save()
		frappe.db.commit()
		administrator = frappe.get_doc("User", "Administrator")
		producer(cls.producer_url).delete_if_exists("Event Producer", cls.here)
		producer(cls.producer_url).insert(
			{
				"doctype": "Event Producer",
				"producer_url": cls.here,
				"user": "Administrator",
				"api_key": administrator.api_key,
				"api_secret": administrator.get_password("api_secret"),
				"producer_doctypes": [{"ref_doctype": "ToDo", "use_same_name": 1}],
			}
		)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		producer(cls.producer_url).delete_if_exists("Event Producer", cls.here)
		if frappe.db.exists("Event Consumer", cls.producer_url):
			frappe.delete_doc("Event Consumer", cls.producer_url, force=True)
		settings = frappe.get_doc("Event Streaming Settings")
		settings.auto_approve = 0
		settings.auto_approve_consumers = ""
		settings.save()
		frappe.db.commit()
		super().tearDownClass()

	def test_each_site_is_both_producer_and_consumer(self):
		consumer_row = frappe.get_doc("Event Consumer", self.producer_url).consumer_doctypes[0]
		self.assertEqual((consumer_row.ref_doctype, consumer_row.status), ("ToDo", "Approved"))

	def test_local_change_goes_over_and_does_not_come_back(self):
		todo = frappe.get_doc({"doctype": "ToDo", "description": unique("from consumer")}).insert()
		frappe.db.commit()
		self.producer.call(PULL_ON_PRODUCER, event_producer=self.here)
		self.assertTrue(self.producer.exists("ToDo", todo.name))

		pull_all(self.producer_url)
		self.assertEqual(frappe.db.count("Event Sync Log", {"producer_doc": todo.name}), 0)
		self.assertEqual(frappe.db.count("ToDo", {"name": todo.name}), 1)

	def test_remote_change_comes_here_and_does_not_go_back(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("from producer")})
		pull_all(self.producer_url)
		self.assertTrue(frappe.db.exists("ToDo", todo["name"]))
		self.producer.call(PULL_ON_PRODUCER, event_producer=self.here)
		synced_back = self.producer.get_list("Event Sync Log", filters={"producer_doc": todo["name"]})
		self.assertEqual(synced_back, [])

	def test_edits_on_both_sides_converge(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("both")})
		pull_all(self.producer_url)
		self.producer.update("ToDo", todo["name"], {"priority": "High"})
		pull_all(self.producer_url)
		local = frappe.get_doc("ToDo", todo["name"])
		local.description = "edited on the consumer"
		local.save()
		frappe.db.commit()
		self.producer.call(PULL_ON_PRODUCER, event_producer=self.here)
		pull_all(self.producer_url)
		remote = self.producer.get("ToDo", todo["name"])
		local.reload()
		self.assertEqual((remote["description"], remote["priority"]), ("edited on the consumer", "High"))
		self.assertEqual((local.description, local.priority), ("edited on the consumer", "High"))
