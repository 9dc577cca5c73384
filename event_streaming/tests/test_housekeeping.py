# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Retention through Log Settings, and the rules every whitelisted method of the app follows."""

import inspect

import frappe
from frappe.tests.utils import FrappeTestCase

# imported for their side effect: importing registers their methods in frappe.whitelisted
import event_streaming.api
from event_streaming.event_streaming.doctype.event_consumer import event_consumer
from event_streaming.event_streaming.doctype.event_initial_sync import event_initial_sync
from event_streaming.event_streaming.doctype.event_producer import event_producer
from event_streaming.event_streaming.doctype.event_sync_log.event_sync_log import EventSyncLog
from event_streaming.event_streaming.doctype.event_update_log import event_update_log
from event_streaming.event_streaming.doctype.event_update_log.event_update_log import EventUpdateLog


def make_update_log(days_old: int, sequence: int) -> str:
	log = frappe.get_doc(
		{"doctype": "Event Update Log", "update_type": "Delete", "ref_doctype": "ToDo", "docname": "gone"}
	).insert(ignore_permissions=True)
	creation = frappe.utils.add_days(frappe.utils.now_datetime(), -days_old)
	frappe.db.set_value(
		"Event Update Log", log.name, {"creation": creation, "sequence": sequence}, update_modified=False
	)
	return log.name


class TestRetention(FrappeTestCase):
	def tearDown(self):
		frappe.db.rollback()

	def test_old_acknowledged_update_logs_are_cleared(self):
		top = frappe.db.sql("select coalesce(max(sequence), 0) from `tabEvent Update Log`")[0][0]
		old = make_update_log(days_old=100, sequence=top + 1)
		unacknowledged = make_update_log(days_old=100, sequence=top + 2)
		recent = make_update_log(days_old=1, sequence=top + 3)
		consumer = frappe.get_doc(
			{
				"doctype": "Event Consumer",
				"callback_url": "http://127.0.0.1:9099",
				"user": "Administrator",
				"api_key": "k",
				"api_secret": "s",
				"consumer_doctypes": [{"ref_doctype": "ToDo"}],
			}
		).insert()
		frappe.db.set_value("Event Consumer", consumer.name, "last_acked_sequence", top + 1)

		EventUpdateLog.clear_old_logs(days=90)
		self.assertFalse(frappe.db.exists("Event Update Log", old))
		self.assertTrue(frappe.db.exists("Event Update Log", unacknowledged))
		self.assertTrue(frappe.db.exists("Event Update Log", recent))

	def test_failed_sync_logs_are_kept(self):
		names = {}
		for status in ("Synced", "Failed"):
			log = frappe.get_doc(
				{
					"doctype": "Event Sync Log",
					"status": status,
					"update_type": "Create",
					"ref_doctype": "ToDo",
				}
			).insert(ignore_permissions=True)
			creation = frappe.utils.add_days(frappe.utils.now_datetime(), -40)
			frappe.db.set_value("Event Sync Log", log.name, "creation", creation, update_modified=False)
			names[status] = log.name
		EventSyncLog.clear_old_logs(days=30)
		self.assertFalse(frappe.db.exists("Event Sync Log", names["Synced"]))
		self.assertTrue(frappe.db.exists("Event Sync Log", names["Failed"]))

	def test_log_doctypes_are_registered_with_log_settings(self):
		hooks = frappe.get_hooks("default_log_clearing_doctypes")
		self.assertIn("Event Update Log", hooks)
		self.assertIn("Event Sync Log", hooks)


class TestWhitelistedMethods(FrappeTestCase):
	def our_methods(self):
		methods = [
			method for method in frappe.whitelisted if method.__module__.startswith("event_streaming.")
		]
		self.assertGreaterEqual(len(methods), 10)
		return methods

	def test_every_argument_and_return_is_annotated(self):
		for method in self.our_methods():
			signature = inspect.signature(method)
			for name, parameter in signature.parameters.items():
				if name == "self":
					continue
				self.assertIsNot(
					parameter.annotation, inspect.Parameter.empty, f"{method.__qualname__}({name})"
				)
			self.assertIsNot(signature.return_annotation, inspect.Signature.empty, method.__qualname__)

	def test_no_method_is_open_to_guests(self):
		for method in self.our_methods():
			self.assertNotIn(method, frappe.guest_methods, method.__qualname__)

	def test_methods_that_write_accept_only_post(self):
		writers = {
			"register_consumer",
			"new_event_notification",
			"pull_from_node",
			"pull_producer_data",
			"resync",
		}
		writers |= {
			"acknowledge_update_logs",
			"resync_failed_logs",
			"receive_statuses",
			"start_initial_sync",
			"cancel_sync",
			"resume_sync",
			# marks what it serves as served to the consumer; original consumers POST it
			"get_update_logs_for_consumer",
		}
		for method in self.our_methods():
			if method.__name__ in writers:
				self.assertEqual(
					frappe.allowed_http_methods_for_whitelisted_func[method], ["POST"], method.__name__
				)
		self.assertLessEqual(writers, {method.__name__ for method in self.our_methods()})
