# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""A site on MariaDB and a site on PostgreSQL replicate with each other in both directions.

Runs when the bench also has the producer site of the other database (the other pair of
scripts/two_site_tests.sh, run once with the other --db-type): this consumer and that producer
follow each other for ToDo, as in test_bidirectional, and a document's whole life crosses over."""

import unittest

import frappe

from event_streaming.tests import test_bidirectional
from event_streaming.tests.utils import (
	MIXED_PRODUCER_OF,
	pull_all,
	site_config,
	site_exists,
	site_url,
	unique,
)

OTHER_SITE = MIXED_PRODUCER_OF.get(frappe.local.site)


# imported as a module, so the loader does not run TestBidirectional a second time from here
class TestMixedDatabases(test_bidirectional.TestBidirectional):
	producer_url = site_url(OTHER_SITE) if OTHER_SITE and site_exists(OTHER_SITE) else None

	@classmethod
	def setUpClass(cls):
		if not cls.producer_url:
			raise unittest.SkipTest(
				"no producer site on the other database (run scripts/two_site_tests.sh with the other --db-type)"
			)
		super().setUpClass()

	def test_the_two_sites_are_on_different_databases(self):
		self.assertNotEqual(site_config(OTHER_SITE).get("db_type") or "mariadb", frappe.db.db_type)

	def test_a_document_lives_and_dies_across_databases(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("mixed"), "priority": "Low"})
		pull_all(self.producer_url)
		self.assertEqual(frappe.db.get_value("ToDo", todo["name"], "priority"), "Low")

		self.producer.update("ToDo", todo["name"], {"priority": "High", "status": "Closed"})
		pull_all(self.producer_url)
		self.assertEqual(
			frappe.db.get_value("ToDo", todo["name"], ["priority", "status"]), ("High", "Closed")
		)

		self.producer.delete("ToDo", todo["name"])
		pull_all(self.producer_url)
		self.assertFalse(frappe.db.exists("ToDo", todo["name"]))
		statuses = frappe.get_all(
			"Event Sync Log",
			filters={"event_producer": self.producer_url, "producer_doc": todo["name"]},
			pluck="status",
		)
		self.assertEqual(statuses, ["Synced"] * 3)
