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
	PRODUCER_URL,
	TwoSiteTestCase,
	ensure_local_api_keys,
	make_event_producer,
	producer,
	remove_event_producer,
	wait_for,
)


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
