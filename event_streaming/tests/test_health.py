# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Health numbers of both sides, the health report, and alerts sent once per incident."""

import frappe
import requests
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_to_date, now_datetime

from event_streaming.streaming import feed, health, jobs, notify, pull
from event_streaming.tests.utils import (
	PRODUCER_URL,
	ProducerError,
	TwoSiteTestCase,
	pull_all,
	unique,
)

UNREACHABLE_URL = "http://127.0.0.1:9"


def alerts_for(doctype: str, name: str) -> int:
	return frappe.db.count("Notification Log", {"document_type": doctype, "document_name": name})


def make_outgoing_email_account(test) -> None:
	"""A default outgoing email account; Frappe's tests send nothing, they queue the email."""
	account = frappe.get_doc(
		{
			"doctype": "Email Account",
			"email_account_name": unique("Alerts"),
			"email_id": "alerts@example.com",
			"enable_outgoing": 1,
			"default_outgoing": 1,
			"smtp_server": "127.0.0.1",
			"smtp_port": 2525,
			"no_smtp_authentication": 1,
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()

	def remove():
		frappe.delete_doc("Email Account", account.name, force=True, ignore_permissions=True)
		frappe.db.commit()

	test.addCleanup(remove)


def forget_alert_emails(peer: str) -> None:
	for name in frappe.get_all("Email Queue", filters={"message": ("like", f"%{peer}%")}, pluck="name"):
		frappe.delete_doc("Email Queue", name, force=True, ignore_permissions=True)
	frappe.db.commit()


def alert_emails(peer: str) -> list:
	"""Queued emails about ``peer`` (with their recipients), newest first."""
	emails = frappe.get_all(
		"Email Queue",
		filters={"message": ("like", f"%{peer}%")},
		fields=["name"],
		order_by="creation desc",
	)
	return [
		frappe._dict(
			message=frappe.get_doc("Email Queue", email.name).message,
			recipients=[row.recipient for row in frappe.get_doc("Email Queue", email.name).recipients],
		)
		for email in emails
	]


def set_local_settings(**values) -> dict:
	"""Set Event Streaming Settings here; returns the earlier values, to restore them."""
	settings = frappe.get_single("Event Streaming Settings")
	before = {key: settings.get(key) for key in values}
	settings.update(values)
	settings.save()
	frappe.db.commit()
	return before


class TestConsumerSideHealth(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.role = unique("Health Role")
		cls.earlier_settings = set_local_settings(max_retries=1)

	@classmethod
	def tearDownClass(cls):
		set_local_settings(**cls.earlier_settings)
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		self.producer.insert({"doctype": "Role", "role_name": self.role, "desk_access": 1})
		self.addCleanup(self.producer.delete_if_exists, "Role", self.role)

	def fail_a_change(self) -> tuple[dict, str]:
		"""A ToDo the consumer cannot apply (its Role exists only on the producer): the ToDo and the
		name of its Failed sync log, removed after the test."""
		poison = self.producer.insert({"doctype": "ToDo", "description": unique("poison"), "role": self.role})
		pull_all()
		sync_log = frappe.db.get_value(
			"Event Sync Log", {"producer_doc": poison["name"], "status": "Failed"}, "name"
		)
		self.assertTrue(sync_log)
		self.addCleanup(self.forget_failure, poison["name"], sync_log)
		return poison, sync_log

	def forget_failure(self, producer_doc: str, sync_log: str) -> None:
		frappe.db.delete("Notification Log", {"document_type": "Event Sync Log", "document_name": sync_log})
		frappe.db.delete("Event Sync Log", {"producer_doc": producer_doc})
		frappe.db.commit()

	def test_behind_the_producer_while_a_pull_cannot_run_then_caught_up(self):
		pull_all()
		# while this test holds the pull lock the worker's pulls give way, so the changes stay behind
		with jobs.exclusive(pull.pull_key(PRODUCER_URL)) as acquired:
			self.assertTrue(acquired)
			for _ in range(3):
				self.producer.insert({"doctype": "ToDo", "description": unique("behind")})
			row = health.producer_health(PRODUCER_URL)
		self.assertEqual(row["behind"], 3, row)
		self.assertEqual(row["status"], health.BEHIND)
		self.assertIsNotNone(row["oldest_unapplied_seconds"])
		# the new logs may not be numbered yet (they still count as behind): the head is at least our position
		self.assertGreaterEqual(row["head"], row["position"])
		self.assertIsNone(row["last_error"])

		pull_all()
		row = health.producer_health(PRODUCER_URL)
		self.assertEqual(row["behind"], 0, row)
		self.assertEqual(row["status"], health.OK)
		self.assertEqual(row["position"], row["head"])
		self.assertIsNone(row["oldest_unapplied_seconds"])

		report_rows = [
			r
			for r in frappe.get_attr(
				"event_streaming.event_streaming.report.event_streaming_health.event_streaming_health.execute"
			)()[1]
			if r["peer"] == PRODUCER_URL
		]
		self.assertEqual(len(report_rows), 1)
		self.assertEqual(report_rows[0]["behind"], 0)

	def test_feed_status_is_only_for_the_consumers_user(self):
		reply = requests.post(
			f"{PRODUCER_URL}/api/method/{health.FEED_STATUS_METHOD}",
			data={"event_consumer": frappe.utils.get_url(), "after": 0},
			timeout=30,
		)
		self.assertEqual(reply.status_code, 403, reply.text[:300])
		self.assertNotIn("pending", reply.text)
		# a logged-in user who is not the named consumer's user learns nothing either
		with self.assertRaises(ProducerError) as denied:
			self.producer.call(health.FEED_STATUS_METHOD, event_consumer="http://not-a-consumer.invalid")
		self.assertEqual(denied.exception.status, 403)

	def test_health_methods_of_this_site_refuse_guests(self):
		site = frappe.utils.get_url()
		methods = [
			("event_streaming.api.get_peer_health", {"doctype": "Event Producer", "name": PRODUCER_URL}),
			(
				"event_streaming.event_streaming.dashboard_chart_source.event_streaming_changes"
				".event_streaming_changes.get",
				{},
			),
		]
		for method, params in methods:
			reply = requests.get(f"{site}/api/method/{method}", params=params, timeout=30)
			self.assertEqual(reply.status_code, 403, f"{method}: {reply.text[:300]}")
			self.assertNotIn("Behind", reply.text)
		# and as a System Manager the form's summary is there, peer text escaped
		html = frappe.get_attr("event_streaming.api.get_peer_health")("Event Producer", PRODUCER_URL)
		self.assertIn("Behind the producer", html)
		with self.assertRaises(frappe.ValidationError):
			frappe.get_attr("event_streaming.api.get_peer_health")("User", "Administrator")

	def test_lag_shown_on_the_producer_list_counts_failed_changes(self):
		pull_all()
		lag = frappe.db.get_value("Event Producer", PRODUCER_URL, "replication_lag")
		self.assertEqual(lag, 0, "caught up: no lag")

		poison, sync_log = self.fail_a_change()
		# the change failed an hour ago and still waits: the next pull reports an hour of lag
		frappe.db.set_value(
			"Event Sync Log", sync_log, "creation", add_to_date(None, hours=-1), update_modified=False
		)
		frappe.db.commit()
		self.producer.insert({"doctype": "ToDo", "description": unique("after the poison")})
		pull_all()
		lag = frappe.db.get_value("Event Producer", PRODUCER_URL, "replication_lag")
		self.assertGreaterEqual(lag, 3600)
		self.assertLess(lag, 3600 + 300)

		# once the failed change is dealt with, the next pull is back to no lag
		self.forget_failure(poison["name"], sync_log)
		pull_all()
		self.assertEqual(frappe.db.get_value("Event Producer", PRODUCER_URL, "replication_lag"), 0)

	def test_a_change_failed_after_its_retries_alerts_once(self):
		poison, sync_log = self.fail_a_change()

		row = health.producer_health(PRODUCER_URL)
		self.assertEqual(row["failed"], 1)
		self.assertEqual(row["status"], health.FAILING)
		self.assertIsNotNone(row["oldest_unapplied_seconds"])

		# retries left: no alert yet
		health.check_alerts()
		self.assertEqual(alerts_for("Event Sync Log", sync_log), 0)

		# the one automatic retry fails too: now System Managers hear of it, once
		frappe.db.set_value("Event Sync Log", sync_log, "next_retry_at", add_to_date(None, days=-1))
		frappe.db.commit()
		pull.retry_failed_logs()
		self.assertEqual(frappe.db.get_value("Event Sync Log", sync_log, "retry_count"), 1)
		health.check_alerts()
		managers = health.system_managers()
		self.assertIn("Administrator", managers)
		self.assertNotIn("Guest", managers)
		self.assertEqual(alerts_for("Event Sync Log", sync_log), len(managers))
		subject = frappe.db.get_value(
			"Notification Log", {"document_name": sync_log, "for_user": "Administrator"}, "subject"
		)
		self.assertIn(poison["name"], subject)

		# later scheduler runs and further failures of the same change alert no more
		frappe.db.set_value("Event Sync Log", sync_log, "next_retry_at", add_to_date(None, days=-1))
		frappe.db.commit()
		pull.retry_failed_logs()
		health.check_alerts()
		health.check_alerts()
		self.assertEqual(alerts_for("Event Sync Log", sync_log), len(managers))


class TestUnreachablePeerAlerts(FrappeTestCase):
	"""A producer and a consumer that never answer (nothing listens on port 9)."""

	def setUp(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()  # on PostgreSQL a failed earlier test may leave its transaction aborted
		# what a run killed half-way left behind would make the inserts below duplicates
		for doctype in ("Event Producer", "Event Consumer"):
			self.forget(doctype, UNREACHABLE_URL)
		self.earlier_settings = set_local_settings(alert_unreachable_minutes=30)
		self.addCleanup(set_local_settings, **self.earlier_settings)

	def make_unreachable_producer(self) -> str:
		# written directly: saving the form would try (and fail) to register on the producer
		doc = frappe.get_doc(
			{
				"doctype": "Event Producer",
				"producer_url": UNREACHABLE_URL,
				"user": "Administrator",
				"api_key": "key",
				"api_secret": "secret",
				"protocol_version": "v2",
			}
		)
		doc.db_insert()
		frappe.db.commit()
		self.addCleanup(self.forget, "Event Producer", UNREACHABLE_URL)
		return doc.name

	def forget(self, doctype: str, name: str) -> None:
		frappe.db.delete(doctype, name)
		frappe.db.delete("Event Consumer Document Type", {"parent": name, "parenttype": doctype})
		frappe.db.delete("Event Producer Last Update", {"event_producer": name})
		frappe.db.delete("Notification Log", {"document_type": doctype, "document_name": name})
		frappe.db.set_default(health.outage_key(doctype, name), None)
		frappe.db.commit()

	def fail_to_pull(self, name: str) -> None:
		with self.assertRaises(frappe.ValidationError):
			pull.pull_now(name, wait=5)
		frappe.db.commit()

	def test_unreachable_producer_alerts_once_per_outage(self):
		name = self.make_unreachable_producer()
		self.fail_to_pull(name)
		row = health.producer_health(name)
		self.assertEqual(row["status"], health.UNREACHABLE)
		self.assertIn("127.0.0.1:9", row["last_error"])

		health.check_alerts()
		self.assertEqual(alerts_for("Event Producer", name), 0, "an outage of seconds is no incident")
		health.check_alerts(now=add_to_date(now_datetime(), minutes=29))
		self.assertEqual(alerts_for("Event Producer", name), 0)

		managers = len(health.system_managers())
		self.fail_to_pull(name)  # a retry in between changes nothing
		health.check_alerts(now=add_to_date(now_datetime(), minutes=31))
		self.assertEqual(alerts_for("Event Producer", name), managers)
		self.fail_to_pull(name)
		health.check_alerts(now=add_to_date(now_datetime(), hours=5))
		self.assertEqual(alerts_for("Event Producer", name), managers, "one alert per outage")

		# it recovers (a pull without error), then fails again: a new incident, a new alert
		pull.set_pull_status(name, None)
		health.check_alerts()
		self.assertIsNone(frappe.db.get_default(health.outage_key("Event Producer", name)))
		self.fail_to_pull(name)
		health.check_alerts()
		self.assertEqual(alerts_for("Event Producer", name), managers)
		health.check_alerts(now=add_to_date(now_datetime(), minutes=45))
		self.assertEqual(alerts_for("Event Producer", name), 2 * managers)

	def test_an_alert_is_emailed_where_the_site_sends_email(self):
		name = self.make_unreachable_producer()
		forget_alert_emails(name)
		self.addCleanup(forget_alert_emails, name)
		self.fail_to_pull(name)
		health.check_alerts(now=add_to_date(now_datetime(), minutes=31))
		self.assertTrue(alerts_for("Event Producer", name))
		self.assertEqual(alert_emails(name), [], "no outgoing email account: Desk only")

		make_outgoing_email_account(self)
		pull.set_pull_status(name, None)  # recovered; then a new outage
		health.check_alerts()
		self.fail_to_pull(name)
		health.check_alerts()
		health.check_alerts(now=add_to_date(now_datetime(), minutes=31))
		emails = alert_emails(name)
		managers = health.system_managers()
		self.assertEqual(len(emails), len(managers), "one email per System Manager, once per outage")
		admin_email = frappe.db.get_value("User", "Administrator", "email")
		self.assertTrue(any(admin_email in email.recipients for email in emails))
		self.assertTrue(all("unreachable" in email.message.lower() for email in emails))

	def test_switched_off_alerts_nothing(self):
		set_local_settings(alert_unreachable_minutes=0)
		name = self.make_unreachable_producer()
		self.fail_to_pull(name)
		health.check_alerts(now=add_to_date(now_datetime(), days=3))
		self.assertEqual(alerts_for("Event Producer", name), 0)

	def test_consumer_backlog_and_unreachable_consumer(self):
		consumer = frappe.get_doc(
			{
				"doctype": "Event Consumer",
				"callback_url": UNREACHABLE_URL,
				"user": "Administrator",
				"api_key": "key",
				"api_secret": "secret",
				"consumer_doctypes": [{"ref_doctype": "Note"}],
			}
		).insert()
		self.addCleanup(self.forget, "Event Consumer", consumer.name)
		frappe.db.set_value(
			"Event Consumer Document Type", consumer.consumer_doctypes[0].name, "status", "Approved"
		)
		feed.assign_sequences()
		top = frappe.db.sql("select coalesce(max(sequence), 0) from `tabEvent Update Log`")[0][0]
		logs = []
		for offset in (1, 2):
			log = frappe.get_doc(
				{
					"doctype": "Event Update Log",
					"update_type": "Delete",
					"ref_doctype": "Note",
					"docname": "gone",
				}
			).insert(ignore_permissions=True)
			frappe.db.set_value("Event Update Log", log.name, "sequence", top + offset, update_modified=False)
			logs.append(log.name)
		self.addCleanup(frappe.db.delete, "Event Update Log", {"name": ["in", logs]})
		frappe.db.commit()

		row = health.consumer_health(consumer.name)
		self.assertIsNone(row["behind"], "no backlog is known before the consumer acknowledged anything")
		frappe.db.set_value("Event Consumer", consumer.name, "last_acked_sequence", top)
		row = health.consumer_health(consumer.name)
		self.assertEqual((row["position"], row["behind"], row["status"]), (top, 2, health.BEHIND))

		self.assertFalse(notify.notify_one(frappe.get_doc("Event Consumer", consumer.name)))
		frappe.db.commit()
		row = health.consumer_health(consumer.name)
		self.assertEqual((row["status"], row["failed"]), (health.UNREACHABLE, 1))
		self.assertIn("127.0.0.1:9", row["last_error"])

		health.check_alerts()
		self.assertEqual(alerts_for("Event Consumer", consumer.name), 0)
		health.check_alerts(now=add_to_date(now_datetime(), hours=1))
		health.check_alerts(now=add_to_date(now_datetime(), hours=2))
		self.assertEqual(alerts_for("Event Consumer", consumer.name), len(health.system_managers()))

	def test_peer_text_is_escaped_in_the_form_summary(self):
		row = {
			"side": "Consumer",
			"peer": UNREACHABLE_URL,
			"status": health.UNREACHABLE,
			"position": 1,
			"head": None,
			"behind": None,
			"oldest_unapplied_seconds": 4000,
			"failed": 0,
			"last_contact": None,
			"last_error": "<img src=x onerror=alert(1)>",
		}
		html = health.summary_html(row)
		self.assertNotIn("<img", html)
		self.assertIn("&lt;img", html)
