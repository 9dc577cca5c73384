# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Capture on this site, acting as a producer for a consumer that is down: what gets logged,
what never does, and that a dead consumer neither fails a save nor pins a worker."""

import time
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import capture, notify, registration

DEAD_CONSUMER = "http://127.0.0.1:9"


def make_local_consumer(doctypes: list[str], status: str = "Approved"):
	if frappe.db.exists("Event Consumer", DEAD_CONSUMER):
		frappe.delete_doc("Event Consumer", DEAD_CONSUMER, force=True)
	consumer = frappe.get_doc(
		{
			"doctype": "Event Consumer",
			"callback_url": DEAD_CONSUMER,
			"user": "Administrator",
			"api_key": "dead",
			"api_secret": "dead",
			"consumer_doctypes": [{"ref_doctype": doctype, "status": "Pending"} for doctype in doctypes],
		}
	).insert()
	for row in consumer.consumer_doctypes:
		row.status = status
	consumer.save()
	return consumer


def logs_of(doc) -> list[str]:
	return frappe.get_all(
		"Event Update Log",
		filters={"ref_doctype": doc.doctype, "docname": doc.name},
		pluck="update_type",
		order_by="creation asc",
	)


class TestCapture(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_local_consumer(["ToDo"])
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		frappe.delete_doc("Event Consumer", DEAD_CONSUMER, force=True)
		frappe.db.commit()
		super().tearDownClass()

	def test_insert_then_save_of_the_same_object_logs_both(self):
		"""The original loses the second change of an object it has just inserted (W-C3)."""
		todo = frappe.get_doc({"doctype": "ToDo", "description": "first"}).insert()
		todo.description = "second"
		todo.save()
		self.assertEqual(logs_of(todo), ["Create", "Update"])

	def test_save_without_changes_logs_nothing(self):
		todo = frappe.get_doc({"doctype": "ToDo", "description": "same", "date": "2026-01-02"}).insert()
		todo.date = "2026-01-02"  # a string for a date the document already holds
		todo.save()
		self.assertEqual(logs_of(todo), ["Create"])

	def test_rolled_back_save_leaves_no_log(self):
		frappe.db.savepoint("before_todo")
		todo = frappe.get_doc({"doctype": "ToDo", "description": "rolled back"}).insert()
		frappe.db.rollback(save_point="before_todo")
		self.assertEqual(logs_of(todo), [])

	def test_unsubscribed_doctype_is_not_captured(self):
		note = frappe.get_doc({"doctype": "Note", "title": frappe.generate_hash(length=8)}).insert()
		self.assertEqual(logs_of(note), [])

	def test_a_failing_log_never_fails_the_users_save(self):
		with patch.object(capture, "insert_log", side_effect=ValueError("serialisation broke")):
			todo = frappe.get_doc({"doctype": "ToDo", "description": "still saved"}).insert()
		self.assertTrue(frappe.db.exists("ToDo", todo.name))
		self.assertTrue(
			frappe.db.exists("Error Log", {"method": ("like", "%could not log after_insert of ToDo%")})
		)

	def test_diff_holds_only_what_changed(self):
		todo = frappe.get_doc({"doctype": "ToDo", "description": "diff", "priority": "Low"}).insert()
		todo.priority = "High"
		todo.save()
		data = frappe.parse_json(
			frappe.db.get_value("Event Update Log", {"docname": todo.name, "update_type": "Update"}, "data")
		)
		self.assertEqual(
			data, {"added": {}, "changed": {"priority": "High"}, "removed": {}, "row_changed": {}}
		)

	def test_logs_are_numbered_in_commit_order_once_committed(self):
		from event_streaming.streaming import feed

		todo = frappe.get_doc({"doctype": "ToDo", "description": "numbered"}).insert()
		frappe.db.commit()
		feed.assign_sequences()
		sequence = frappe.db.get_value("Event Update Log", {"docname": todo.name}, "sequence")
		self.assertGreater(sequence, 0)
		self.assertEqual(frappe.db.count("Event Update Log", {"sequence": sequence}), 1)
		frappe.delete_doc("ToDo", todo.name)
		frappe.db.commit()

	def test_internal_doctypes_cannot_be_subscribed(self):
		for doctype in ("Event Update Log", "Error Log", "Event Consumer"):
			self.assertFalse(capture.is_streamable(doctype))
		with self.assertRaises(frappe.ValidationError):
			registration.register_consumer(
				frappe.as_json(
					{
						"event_consumer": "http://elsewhere.example.com",
						"consumer_doctypes": frappe.as_json(
							[{"doctype": "Event Update Log", "condition": None}]
						),
						"user": "Administrator",
						"api_key": "k",
						"api_secret": "s",
					}
				)
			)
		self.assertFalse(frappe.db.exists("Event Consumer", "http://elsewhere.example.com"))


class TestStreamedDocTypesCache(FrappeTestCase):
	def test_a_set_reloaded_before_the_change_commits_is_forgotten_at_commit(self):
		"""Another worker reloading the set while an approval is uncommitted must not pin the old set."""
		capture.clear_streamed_cache()
		capture.get_streamed_doctypes()  # reloaded from the state before this transaction commits
		self.assertTrue(frappe.cache.exists(capture.STREAMED_DOCTYPES_KEY))
		frappe.db.commit()
		self.assertFalse(frappe.cache.exists(capture.STREAMED_DOCTYPES_KEY))


class TestNotificationBackoff(FrappeTestCase):
	def setUp(self):
		self.consumer = make_local_consumer(["ToDo"])

	def tearDown(self):
		frappe.db.rollback()
		# on PostgreSQL a delivery status write commits first (jobs.write_status): remove it for good
		if frappe.db.exists("Event Consumer", DEAD_CONSUMER):
			frappe.delete_doc("Event Consumer", DEAD_CONSUMER, force=True)
			frappe.db.commit()

	def test_dead_consumer_is_retried_with_growing_delays(self):
		started = time.monotonic()
		self.assertFalse(notify.notify_one(self.consumer))
		self.assertLess(time.monotonic() - started, 10, "a dead peer must fail fast, not pin the worker")
		self.consumer.reload()
		self.assertEqual(self.consumer.notify_failures, 1)
		first_delay = (self.consumer.next_notify_at - frappe.utils.now_datetime()).total_seconds()

		notify.notify_one(self.consumer)
		self.consumer.reload()
		self.assertEqual(self.consumer.notify_failures, 2)
		second_delay = (self.consumer.next_notify_at - frappe.utils.now_datetime()).total_seconds()
		self.assertGreater(second_delay, first_delay)
		self.assertTrue(self.consumer.last_notify_error)

	def test_successful_pings_are_written_down_at_most_once_a_minute(self):
		now = frappe.utils.now_datetime()
		self.consumer.update({"notify_failures": 0, "last_notify_error": None, "last_notified_at": None})
		self.assertTrue(notify.needs_delivery_record(self.consumer, now))
		self.consumer.last_notified_at = frappe.utils.add_to_date(now, seconds=-5)
		self.assertFalse(notify.needs_delivery_record(self.consumer, now))
		self.consumer.last_notified_at = frappe.utils.add_to_date(now, seconds=-61)
		self.assertTrue(notify.needs_delivery_record(self.consumer, now))
		# a recovery is always recorded, so the failure count and error clear at once
		self.consumer.update(
			{"notify_failures": 2, "last_notified_at": frappe.utils.add_to_date(now, seconds=-5)}
		)
		self.assertTrue(notify.needs_delivery_record(self.consumer, now))
