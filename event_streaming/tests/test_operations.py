# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Operating it: no stale reads, no document stuck behind a failure that can never succeed, no
status rewound by a form, no sequence number handed out twice (issue 12, data-loss bugs)."""

import json
import socket
import threading
import time
from urllib.parse import quote

import frappe
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import jobs, pull, transport
from event_streaming.tests.utils import (
	PRODUCER_URL,
	ProducerSite,
	TwoSiteTestCase,
	ensure_local_api_keys,
	producer,
	pull_all,
	unique,
	wait_for,
)


def in_own_connection(function, *args, **kwargs):
	"""Run ``function`` as another worker would: its own thread, database connection and commit."""
	thread, outcome = start_in_own_connection(function, *args, **kwargs)
	thread.join(180)
	if "error" in outcome:
		raise outcome["error"]
	return outcome.get("result")


def start_in_own_connection(function, *args, **kwargs):
	site, sites_path = frappe.local.site, frappe.local.sites_path
	outcome = {}

	def target():
		frappe.init(site=site, sites_path=sites_path)
		frappe.connect()
		try:
			frappe.set_user("Administrator")
			outcome["result"] = function(*args, **kwargs)
			frappe.db.commit()
		except Exception as error:
			outcome["error"] = error
		finally:
			frappe.destroy()

	thread = threading.Thread(target=target)
	thread.start()
	return thread, outcome


def sync_logs_of(docname: str) -> list:
	return frappe.get_all(
		"Event Sync Log",
		filters={"event_producer": PRODUCER_URL, "producer_doc": docname},
		fields=["name", "update_type", "status", "error", "next_retry_at"],
		order_by="creation asc",
	)


class TestFreshReadsAfterTheLock(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_pull_started_in_an_older_transaction_does_not_apply_again(self):
		"""The caller's snapshot predates a pull another worker commits; waiting for that pull's lock
		and then reading the old cursor would apply its Create again (DuplicateEntryError)."""
		pull_all()
		# this transaction's snapshot starts here, before the change exists anywhere
		pull.get_position(PRODUCER_URL)
		frappe.db.exists("ToDo", {"description": "nothing"})
		frappe.get_all("Event Sync Log", filters={"event_producer": PRODUCER_URL}, limit=1)

		todo = self.producer.insert({"doctype": "ToDo", "description": unique("stale snapshot")})
		in_own_connection(pull.pull_now, PRODUCER_URL)  # the worker's pull, committed
		pull.pull_now(PRODUCER_URL)  # from the old transaction
		frappe.db.commit()

		self.assertTrue(frappe.db.exists("ToDo", todo["name"]))
		logs = sync_logs_of(todo["name"])
		self.assertEqual([(log.update_type, log.status) for log in logs], [("Create", "Synced")], logs)


class TestNoDocumentStuckBehindAHopelessFailure(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.role = unique("ES Gone Role")
		producer().insert({"doctype": "Role", "role_name": cls.role, "desk_access": 1})

	@classmethod
	def tearDownClass(cls):
		super().tearDownClass()
		producer().delete_if_exists("Role", cls.role)

	def test_update_of_a_document_the_producer_no_longer_has_is_skipped_and_its_delete_applies(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("gone")})
		pull_all()
		frappe.delete_doc("ToDo", todo["name"], force=True)  # this site lost its copy
		frappe.db.commit()
		# hold the pull lock while the producer changes and deletes it, so no worker pull sees the
		# document between the two
		with jobs.exclusive(pull.pull_key(PRODUCER_URL), wait=60) as acquired:
			self.assertTrue(acquired)
			self.producer.update("ToDo", todo["name"], {"description": "changed, then deleted"})
			self.producer.delete("ToDo", todo["name"])
			frappe.db.commit()
		pull_all()

		logs = sync_logs_of(todo["name"])
		self.assertEqual(
			[(log.update_type, log.status) for log in logs],
			[("Create", "Synced"), ("Update", "Skipped"), ("Delete", "Synced")],
			logs,
		)
		self.assertIn("no longer has it", logs[1].error)
		self.assertIsNone(logs[1].next_retry_at)
		self.assertFalse(frappe.db.exists("ToDo", todo["name"]))

	def test_a_delete_supersedes_earlier_failures_of_its_document(self):
		"""A Create that can never apply here (it links a Role this site lacks) no longer holds up
		the document's Delete: the Delete applies and the failure is kept as Skipped, with why."""
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("poison"), "role": self.role})
		pull_all()
		self.assertEqual([log.status for log in sync_logs_of(todo["name"])], ["Failed"])
		self.producer.delete("ToDo", todo["name"])
		pull_all()

		logs = sync_logs_of(todo["name"])
		self.assertEqual(
			[(log.update_type, log.status) for log in logs],
			[("Create", "Skipped"), ("Delete", "Synced")],
			logs,
		)
		self.assertIn("Superseded by the later Delete", logs[0].error)
		self.assertIn(self.role, logs[0].error)  # the original failure is kept below the reason
		self.assertIsNone(logs[0].next_retry_at)
		# the scheduler's retries leave it alone: nothing of the document is Failed any more
		pull.retry_failed_logs()
		self.assertEqual(frappe.db.get_value("Event Sync Log", logs[0].name, "status"), "Skipped")


class TestFormsNeverRewindSystemStatus(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_saving_an_old_event_producer_form_keeps_pull_status_and_approvals(self):
		this_site = ProducerSite(frappe.utils.get_url())  # this (consumer) site, over HTTP as Desk does
		path = f"/api/resource/Event Producer/{quote(PRODUCER_URL, safe='')}"
		old_form = this_site.request("GET", path)
		self.assertEqual(old_form["producer_doctypes"][0]["status"], "Approved")
		# a pull writes its status afterwards, leaving ``modified`` alone
		frappe.db.set_value(
			"Event Producer",
			PRODUCER_URL,
			{"last_pull_at": "2031-01-02 03:04:05", "last_pull_error": "newer error"},
			update_modified=False,
		)
		frappe.db.commit()
		old_form["producer_doctypes"][0]["status"] = "Rejected"  # read-only in the form: never decided here
		this_site.request("PUT", path, data={"data": json.dumps(old_form)})

		frappe.db.commit()
		saved = frappe.get_doc("Event Producer", PRODUCER_URL)
		self.assertEqual(str(saved.last_pull_at), "2031-01-02 03:04:05")
		self.assertEqual(saved.last_pull_error, "newer error")
		self.assertEqual(saved.protocol_version, old_form["protocol_version"])
		self.assertEqual(saved.producer_doctypes[0].status, "Approved")

	def test_saving_an_old_event_consumer_form_keeps_delivery_status(self):
		consumer_name = frappe.utils.get_url()
		old_form = self.producer.get("Event Consumer", consumer_name)
		self.producer.insert({"doctype": "ToDo", "description": unique("acknowledged")})
		pull_all()  # acknowledges: the producer's Acknowledged Up To moves on
		acked = self.producer.get("Event Consumer", consumer_name)["last_acked_sequence"]
		self.assertGreater(acked, old_form["last_acked_sequence"])
		self.producer.update("Event Consumer", consumer_name, old_form)
		self.assertEqual(self.producer.get("Event Consumer", consumer_name)["last_acked_sequence"], acked)


class TestSequenceNeverGoesBack(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def newest_logs(self, limit: int) -> list[dict]:
		return self.producer.request(
			"GET",
			"/api/resource/Event Update Log",
			params={
				"fields": json.dumps(["name", "sequence"]),
				"order_by": "sequence desc",
				"limit_page_length": limit,
			},
		)

	def test_new_logs_are_numbered_above_deleted_ones_and_still_arrive(self):
		for _ in range(2):
			self.producer.insert({"doctype": "ToDo", "description": unique("numbered")})
		pull_all()
		newest = self.newest_logs(2)
		highest = newest[0]["sequence"]
		self.assertGreater(highest, 0)
		for log in newest:
			self.producer.delete("Event Update Log", log["name"])

		later = self.producer.insert({"doctype": "ToDo", "description": unique("after deletion")})
		pull_all()
		self.assertGreater(self.newest_logs(1)[0]["sequence"], highest)
		self.assertTrue(frappe.db.exists("ToDo", later["name"]))


class TestPullNowInTheBackground(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_pull_now_returns_at_once_and_the_running_pull_takes_the_request(self):
		pull_all()
		key = pull.pull_key(PRODUCER_URL)

		def slow_pull_round():
			time.sleep(6)  # a long pull is running when the button is pressed
			pull.pull(PRODUCER_URL)

		this_site = ProducerSite(frappe.utils.get_url())
		this_site.get("Event Producer", quote(PRODUCER_URL, safe=""))  # a warm web worker
		jobs.mark_pending(key)
		worker, outcome = start_in_own_connection(jobs.run_coalesced, key, slow_pull_round)
		time.sleep(1)
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("pull now")})
		started = time.monotonic()
		message = this_site.request(
			"POST",
			"/api/method/run_doc_method",
			data={"dt": "Event Producer", "dn": PRODUCER_URL, "method": "pull_now"},
		)
		self.assertLess(time.monotonic() - started, 2.5, "Pull Now waited for the running pull")
		self.assertIn("progress appears on this form", message)
		self.assertEqual(frappe.cache.get_value(pull.watch_key(PRODUCER_URL), expires=True), "Administrator")

		worker.join(120)
		self.assertNotIn("error", outcome)
		wait_for(lambda: frappe.db.exists("ToDo", todo["name"]), message="the requested pull")
		# the pull reported its outcome to the user who asked, and forgot the request
		self.assertIsNone(frappe.cache.get_value(pull.watch_key(PRODUCER_URL), expires=True))


class TestWorkerKilledMidPull(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_a_dead_workers_running_mark_holds_off_pulls_for_a_minute_at_most(self):
		"""A worker killed during a pull leaves its "running" mark behind (its lock goes with its
		database session). Requests that see the mark queue nothing, so the mark must expire soon,
		and once it has the next change is pulled."""
		pull_all()
		key = pull.pull_key(PRODUCER_URL)
		running = frappe.cache.make_key(jobs.running_key(key))
		self.addCleanup(frappe.cache.delete_value, jobs.running_key(key))
		# a round's mark lives a minute at most
		ttls = []
		jobs.mark_pending(key)
		self.assertTrue(jobs.run_coalesced(key, lambda: ttls.append(frappe.cache.ttl(running)), wait=30))
		self.assertEqual(len(ttls), 1)
		self.assertGreater(ttls[0], 0)
		self.assertLessEqual(ttls[0], 60)
		# the mark as the pull of a worker that is then killed leaves it
		frappe.cache.set(running, 1, ex=jobs.RUNNING_TTL)

		todo = self.producer.insert({"doctype": "ToDo", "description": unique("after a dead worker")})
		time.sleep(3)
		frappe.db.commit()
		self.assertFalse(frappe.db.exists("ToDo", todo["name"]), "held off while the mark lives")
		frappe.cache.pexpire(running, 1)  # the minute passes
		self.producer.update("ToDo", todo["name"], {"description": unique("changed again")})
		# the producer notifies us; the background worker pulls (no pull is started here)
		wait_for(lambda: frappe.db.exists("ToDo", todo["name"]), timeout=60, message="the ToDo pulled")


class TestSilentProducerOnRegistration(FrappeTestCase):
	def test_a_silent_producer_fails_within_the_configured_timeout(self):
		"""Protocol detection and registration are two calls: a silent peer must not cost both."""
		listener = socket.socket()
		listener.bind(("127.0.0.1", 0))
		listener.listen(8)
		self.addCleanup(listener.close)
		held = []

		def hold_connections():
			while True:
				try:
					connection, _address = listener.accept()
				except OSError:
					return
				held.append(connection)  # open, never answered

		threading.Thread(target=hold_connections, daemon=True).start()
		ensure_local_api_keys()
		previous = frappe.db.get_single_value("Event Streaming Settings", "request_timeout")
		frappe.db.set_single_value("Event Streaming Settings", "request_timeout", 2)
		try:
			started = time.monotonic()
			with self.assertRaises(transport.PeerError) as raised:
				frappe.get_doc(
					{
						"doctype": "Event Producer",
						"producer_url": f"http://127.0.0.1:{listener.getsockname()[1]}",
						"user": "Administrator",
						"api_key": "key",
						"api_secret": "secret",
						"producer_doctypes": [{"ref_doctype": "ToDo", "use_same_name": 1}],
					}
				).insert()
			elapsed = time.monotonic() - started
		finally:
			frappe.db.rollback()
			frappe.db.set_single_value("Event Streaming Settings", "request_timeout", previous)
			frappe.db.commit()
			for connection in held:
				connection.close()
		self.assertIn("did not answer within 2 seconds", str(raised.exception))
		self.assertLess(elapsed, 3.5, "the silent producer was waited for twice")


class TestSettingsAndMappingFromDesk(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_settings_refuse_values_out_of_range_and_describe_every_field(self):
		for fieldname, value in (
			("request_timeout", 0),
			("request_timeout", 301),
			("feed_page_size", 2001),
			("max_retries", 51),
			("pull_interval_minutes", 0),
		):
			with self.subTest(fieldname=fieldname, value=value):
				settings = frappe.get_doc("Event Streaming Settings")
				settings.set(fieldname, value)
				with self.assertRaises(frappe.ValidationError) as raised:
					settings.save()
				self.assertIn("must be between", str(raised.exception))
				frappe.db.rollback()
		settings = frappe.get_doc("Event Streaming Settings")
		settings.request_timeout = 45
		settings.save()  # within range: saves
		frappe.db.rollback()
		meta = frappe.get_meta("Event Streaming Settings")
		undescribed = [
			df.fieldname
			for df in meta.fields
			if df.fieldtype not in frappe.model.no_value_fields and not df.hidden and not df.description
		]
		self.assertEqual(undescribed, [])

	def test_auto_filled_mapping_saves_and_remote_fields_load_before_the_first_save(self):
		from event_streaming.event_streaming.doctype.document_type_mapping import document_type_mapping

		proposal = document_type_mapping.propose_field_mapping("ToDo")
		self.assertIn("reference_name", proposal["left_out"])  # a Dynamic Link needs the user's choice
		self.assertIn("description", [row["local_fieldname"] for row in proposal["rows"]])
		mapping = frappe.get_doc(
			{
				"doctype": "Document Type Mapping",
				"mapping_name": unique("ES auto-filled"),
				"local_doctype": "ToDo",
				"remote_doctype": "ToDo",
				"field_mapping": proposal["rows"],
			}
		).insert()
		self.assertTrue(mapping.name)
		frappe.db.rollback()

		fields = document_type_mapping.get_remote_fields_before_save("ToDo", PRODUCER_URL)
		self.assertIn("description", [field["fieldname"] for field in fields])
