# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Subscribing: clear errors for bad input with nothing half-created on either site, idempotent
re-registration, and approval decided (and mirrored) by the producer."""

import socket
import threading
import time

import frappe
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import transport
from event_streaming.tests.utils import (
	ADMIN_PASSWORD,
	PRODUCER_URL,
	ProducerError,
	ProducerSite,
	TwoSiteTestCase,
	ensure_local_api_keys,
	make_event_producer,
	producer,
	remove_event_producer,
	wait_for,
)

RECEIVE_STATUSES = "event_streaming.api.receive_statuses"


def new_event_producer(
	url: str = PRODUCER_URL, api_key: str = "", api_secret: str = "", user: str = "Administrator"
):
	return frappe.get_doc(
		{
			"doctype": "Event Producer",
			"producer_url": url,
			"user": user,
			"api_key": api_key or "unused",
			"api_secret": api_secret or "unused",
			"producer_doctypes": [{"ref_doctype": "ToDo", "use_same_name": 1}],
		}
	)


class TestRegistration(TwoSiteTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def setUp(self):
		super().setUp()
		remove_event_producer()
		ensure_local_api_keys()

	def assertNothingCreated(self, url: str = PRODUCER_URL):
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("Event Producer", url))
		self.assertFalse(frappe.db.exists("Event Producer Last Update", url))
		self.assertFalse(producer().exists("Event Consumer", frappe.utils.get_url()))

	def test_malformed_url_is_refused(self):
		before = frappe.db.count("Event Producer")
		for url in ("ftp://es-producer.localhost", "es-producer.localhost", "http://"):
			with self.assertRaises(frappe.ValidationError) as raised:
				new_event_producer(url).insert()
			self.assertIn("http or https", str(raised.exception))
		frappe.db.rollback()
		self.assertEqual(frappe.db.count("Event Producer"), before)

	def test_trailing_slash_is_stripped(self):
		key, secret = producer().api_keys()
		doc = new_event_producer(PRODUCER_URL + "/", key, secret).insert()
		frappe.db.commit()
		self.assertEqual(doc.name, PRODUCER_URL)

	def test_unreachable_producer_gives_a_clear_error_fast(self):
		with self.assertRaises(frappe.ValidationError) as raised:
			new_event_producer("http://127.0.0.1:9").insert()
		self.assertIn("Could not reach", str(raised.exception))
		self.assertNothingCreated("http://127.0.0.1:9")

	def test_wrong_api_keys_are_reported(self):
		with self.assertRaises(frappe.ValidationError) as raised:
			new_event_producer(api_key="wrong", api_secret="wrong").insert()
		self.assertIn("refused the API key", str(raised.exception))
		self.assertNothingCreated()

	def test_subscriber_without_api_keys_is_refused(self):
		user = frappe.get_doc(
			{
				"doctype": "User",
				"email": "no-keys@sync.example.com",
				"first_name": "No Keys",
				"send_welcome_email": 0,
			}
		)
		if not frappe.db.exists("User", user.email):
			user.insert()
		with self.assertRaises(frappe.ValidationError) as raised:
			new_event_producer(user=user.email).insert()
		self.assertIn("API keys", str(raised.exception))
		self.assertNothingCreated()

	def test_registering_again_after_a_local_delete_works(self):
		"""The original answers "already registered" forever once the consumer exists (W-C16)."""
		make_event_producer([{"ref_doctype": "ToDo"}])
		frappe.delete_doc("Event Producer", PRODUCER_URL)
		frappe.db.commit()
		self.assertTrue(producer().exists("Event Consumer", frappe.utils.get_url()))
		key, secret = producer().api_keys()
		doc = new_event_producer(api_key=key, api_secret=secret).insert()
		frappe.db.commit()
		self.assertEqual(doc.protocol_version, "v2")
		self.assertTrue(frappe.db.exists("Event Producer Last Update", PRODUCER_URL))

	def test_approval_is_the_producers_and_is_mirrored(self):
		make_event_producer([{"ref_doctype": "ToDo"}], auto_approve=False)
		self.assertEqual(
			frappe.db.get_value("Event Producer Document Type", {"parent": PRODUCER_URL}, "status"), "Pending"
		)

		remote = producer().get("Event Consumer", frappe.utils.get_url())
		self.assertEqual(remote["consumer_doctypes"][0]["status"], "Pending")
		remote["consumer_doctypes"][0]["status"] = "Approved"
		producer().update(
			"Event Consumer", remote["name"], {"consumer_doctypes": remote["consumer_doctypes"]}
		)

		wait_for(
			lambda: (
				frappe.db.get_value("Event Producer Document Type", {"parent": PRODUCER_URL}, "status")
				== "Approved"
			),
			message="the approval to be mirrored to the consumer",
		)

	def test_consumer_cannot_approve_itself(self):
		"""Statuses a consumer writes into its own Event Consumer are ignored by the producer."""
		make_event_producer([{"ref_doctype": "ToDo"}], auto_approve=False)
		remote = producer().get("Event Consumer", frappe.utils.get_url())
		remote["consumer_doctypes"][0]["status"] = "Approved"
		producer().update(
			"Event Consumer",
			remote["name"],
			{"consumer_doctypes": remote["consumer_doctypes"], "incoming_change": 1},
		)
		remote = producer().get("Event Consumer", frappe.utils.get_url())
		self.assertEqual(remote["consumer_doctypes"][0]["status"], "Pending")

	def test_changed_condition_needs_approval_again(self):
		make_event_producer([{"ref_doctype": "ToDo"}])
		doc = frappe.get_doc("Event Producer", PRODUCER_URL)
		self.assertEqual(doc.producer_doctypes[0].status, "Approved")
		producer().set_settings(auto_approve=0)
		doc.producer_doctypes[0].condition = "doc.priority == 'High'"
		doc.save()
		frappe.db.commit()
		remote = producer().get("Event Consumer", frappe.utils.get_url())
		self.assertEqual(remote["consumer_doctypes"][0]["condition"], "doc.priority == 'High'")
		self.assertEqual(remote["consumer_doctypes"][0]["status"], "Pending")


def new_user(prefix: str) -> tuple[str, str]:
	"""A System User without roles, with a password (to log in over HTTP) and API keys."""
	email = f"{prefix}-{frappe.generate_hash(length=8)}@consumer.example.com"
	password = frappe.generate_hash(length=16) + "aA1!"
	frappe.get_doc(
		{
			"doctype": "User",
			"email": email,
			"first_name": prefix,
			"send_welcome_email": 0,
			"new_password": password,
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	ensure_local_api_keys(email)
	return email, password


def approve_on_producer() -> None:
	remote = producer().get("Event Consumer", frappe.utils.get_url())
	for row in remote["consumer_doctypes"]:
		row["status"] = "Approved"
	producer().update("Event Consumer", remote["name"], {"consumer_doctypes": remote["consumer_doctypes"]})


def subscription_statuses() -> dict[str, str]:
	frappe.db.rollback()  # a fresh snapshot: the writes came from other processes
	return dict(
		frappe.get_all(
			"Event Producer Document Type",
			filters={"parent": PRODUCER_URL, "parenttype": "Event Producer"},
			fields=["ref_doctype", "status"],
			as_list=True,
		)
	)


class TestApprovalMirroring(TwoSiteTestCase):
	"""The producer writes its approvals here through one narrow method that only the Event
	Subscriber may call, so the subscriber needs no rights on Event Producer. A producer running the
	original writes the whole document over REST instead; that changes the statuses and nothing else."""

	def setUp(self):
		super().setUp()
		remove_event_producer()

	def tearDown(self):
		remove_event_producer()
		super().tearDown()

	def subscribe_as_new_user(self) -> tuple[str, str]:
		user, password = new_user("subscriber")
		self.addCleanup(frappe.delete_doc, "User", user, force=True, ignore_permissions=True)
		# registration names the same user on the producer (its Event Consumer's user)
		producer().insert(
			{"doctype": "User", "email": user, "first_name": "Subscriber", "send_welcome_email": 0}
		)
		self.addCleanup(producer().delete_if_exists, "User", user)
		make_event_producer([{"ref_doctype": "ToDo"}], auto_approve=False, user=user)
		return user, password

	def test_an_approval_reaches_a_subscriber_without_rights_on_event_producer(self):
		"""Before: the producer read and wrote this Event Producer over REST with the subscriber's
		keys, which a subscriber without System Manager could not: the approval never arrived."""
		user, _password = self.subscribe_as_new_user()
		self.assertFalse(frappe.has_permission("Event Producer", "read", user=user))
		self.assertEqual(subscription_statuses(), {"ToDo": "Pending"})

		approve_on_producer()

		wait_for(
			lambda: subscription_statuses() == {"ToDo": "Approved"},
			message="the approval to reach a subscriber without rights on Event Producer",
		)

	def test_only_the_event_subscriber_may_send_approvals(self):
		user, password = self.subscribe_as_new_user()
		other, other_password = new_user("stranger")
		self.addCleanup(frappe.delete_doc, "User", other, force=True, ignore_permissions=True)
		here = frappe.utils.get_url()
		for login, secret, producer_url in (
			(other, other_password, PRODUCER_URL),
			("Administrator", ADMIN_PASSWORD, PRODUCER_URL),
			(user, password, "http://unknown.example.com"),
		):
			with self.subTest(user=login, producer_url=producer_url):
				with self.assertRaises(ProducerError) as raised:
					ProducerSite(here, login, secret).call(
						RECEIVE_STATUSES, producer_url=producer_url, statuses={"ToDo": "Approved"}
					)
				self.assertEqual(raised.exception.status, 403)
		self.assertEqual(subscription_statuses(), {"ToDo": "Pending"})

		subscriber = ProducerSite(here, user, password)
		with self.assertRaises(ProducerError) as raised:
			subscriber.call(RECEIVE_STATUSES, producer_url=PRODUCER_URL, statuses={"ToDo": "Owner"})
		self.assertEqual(raised.exception.status, 417)
		changed = subscriber.call(
			RECEIVE_STATUSES, producer_url=PRODUCER_URL, statuses={"ToDo": "Approved", "Note": "Approved"}
		)
		self.assertEqual(changed, ["ToDo"])
		self.assertEqual(subscription_statuses(), {"ToDo": "Approved"})

	def test_a_rest_write_from_the_producer_changes_only_statuses(self):
		"""Before: an incoming change could rewrite the subscriber user, keys, conditions and rows."""
		user, _password = self.subscribe_as_new_user()
		here = ProducerSite(frappe.utils.get_url())
		remote = here.get("Event Producer", PRODUCER_URL)
		row = remote["producer_doctypes"][0]
		row.update(status="Approved", condition="doc.description", use_same_name=0)
		remote["producer_doctypes"].append({"ref_doctype": "Note", "status": "Approved"})
		here.update(
			"Event Producer",
			PRODUCER_URL,
			{
				"producer_doctypes": remote["producer_doctypes"],
				"user": "Administrator",
				"api_key": "taken-over",
				"incoming_change": 1,
			},
		)

		self.assertEqual(subscription_statuses(), {"ToDo": "Approved"})
		doc = frappe.get_doc("Event Producer", PRODUCER_URL)
		self.assertEqual(doc.user, user)
		self.assertNotEqual(doc.api_key, "taken-over")
		self.assertFalse(doc.producer_doctypes[0].condition)
		self.assertEqual(doc.producer_doctypes[0].use_same_name, 1)
		self.assertEqual(doc.incoming_change, 0)


class TestTransport(FrappeTestCase):
	"""A peer that accepts the connection and then says nothing, or says something that is not
	Frappe: a clear PeerError within the timeout, never a hung worker or a traceback."""

	def serve(self, reply: bytes | None):
		listener = socket.socket()
		listener.bind(("127.0.0.1", 0))
		listener.listen()
		self.addCleanup(listener.close)

		def answer():
			connection, _address = listener.accept()
			with connection:
				connection.recv(65536)
				if reply is None:
					time.sleep(5)  # holds the connection open past the caller's timeout
				else:
					connection.sendall(reply)

		threading.Thread(target=answer, daemon=True).start()
		return transport.Peer(
			f"http://127.0.0.1:{listener.getsockname()[1]}", "key", "secret", timeout=(1, 1)
		)

	def test_silent_peer_times_out(self):
		peer = self.serve(None)
		started = time.monotonic()
		with self.assertRaises(transport.PeerError) as raised:
			peer.call("frappe.ping")
		self.assertLess(time.monotonic() - started, 4)
		self.assertIn("did not answer within 1 seconds", str(raised.exception))

	def test_peer_answering_garbage_is_reported(self):
		peer = self.serve(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!")
		with self.assertRaises(transport.PeerError) as raised:
			peer.call("frappe.ping", names=["a", "b"])
		self.assertIn("did not answer with JSON", str(raised.exception))
