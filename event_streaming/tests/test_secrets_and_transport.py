# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""API secrets never reach an Error Log, a log file or a status field, even when pulls and
notifications fail in background jobs; the transport follows no redirect, talks only to allowed
hosts and refuses an oversized reply."""

import glob
import json
import os

import frappe
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import jobs, pull, transport
from event_streaming.streaming.redaction import Secret
from event_streaming.tests.hostile_peer import CAPABILITIES, FEED, HostilePeer, Reply, frappe_error
from event_streaming.tests.utils import (
	ensure_local_api_keys,
	producer,
	unique,
	wait_for,
)

NOTIFY = "event_streaming.event_streaming.doctype.event_producer.event_producer.new_event_notification"


def echoing_peer() -> HostilePeer:
	"""A peer that registers like a v2 producer, then answers the feed and notifications with an
	HTTP 500 whose message echoes the Authorization header it got, as a hostile or broken peer might."""
	peer = HostilePeer().start()

	def echo(values):
		return frappe_error("rejected " + str(peer.requests[-1]["headers"].get("Authorization")), 500)

	peer.replies[FEED] = echo
	peer.replies[NOTIFY] = echo
	return peer


def authorizations(peer: HostilePeer) -> list[str]:
	return [request["headers"].get("Authorization") for request in peer.requests]


def secret_traces(secret: str, since) -> list[str]:
	"""Where on this bench ``secret`` was written since ``since``: Error Logs of this site, and any
	log file of the bench or of its sites."""
	found = [
		f"Error Log {row.name}"
		for row in frappe.get_all(
			"Error Log", filters={"creation": (">=", since)}, fields=["name", "error", "method"]
		)
		if secret in (row.error or "") or secret in (row.method or "")
	]
	bench = frappe.utils.get_bench_path()
	for path in glob.glob(f"{bench}/logs/**/*", recursive=True) + glob.glob(f"{bench}/sites/*/logs/*"):
		if os.path.isfile(path):
			with open(path, errors="replace") as log_file:
				if secret in log_file.read():
					found.append(path)
	return found


class SecretsTestCase(FrappeTestCase):
	def setUp(self):
		frappe.set_user("Administrator")
		self.since = frappe.utils.now_datetime()
		self.peer = echoing_peer()
		self.secret = frappe.generate_hash(length=24)
		self.addCleanup(self.peer.stop)

	def subscribe_to_peer(self):
		"""An Event Producer on this site for the echoing peer, holding ``self.secret``."""
		return self.peer.subscribe([{"ref_doctype": "ToDo"}], api_secret=self.secret)

	def assertSecretNowhere(self, secret: str):
		frappe.db.commit()
		self.assertEqual(secret_traces(secret, self.since), [])


class TestSecretsOnTheConsumer(SecretsTestCase):
	def test_failed_background_pulls_leave_no_secret_behind(self):
		producer_doc = self.subscribe_to_peer()

		# 1. the peer answers 500 and echoes our Authorization header back
		pull.request_pull(producer_doc.name)
		error = wait_for(
			lambda: frappe.db.get_value("Event Producer", producer_doc.name, "last_pull_error"),
			message="the failed pull's error",
		)
		self.assertIn("rejected", error)
		self.assertNotIn(self.secret, error)
		self.assertIn(f"token hostile-key:{self.secret}", authorizations(self.peer))

		# 2. the peer is gone: connection refused
		self.peer.go_down()
		frappe.db.set_value("Event Producer", producer_doc.name, "last_pull_error", None)
		frappe.db.commit()
		pull.request_pull(producer_doc.name)
		error = wait_for(
			lambda: frappe.db.get_value("Event Producer", producer_doc.name, "last_pull_error"),
			message="the refused pull's error",
		)
		self.assertIn("Could not reach", error)
		# give the job runner time to write whatever it writes after the job
		wait_for(lambda: not frappe.cache.exists(jobs.running_key(pull.pull_key(producer_doc.name))))
		self.assertSecretNowhere(self.secret)

	def test_an_unexpected_failure_in_a_job_is_logged_without_variables_or_secrets(self):
		producer_doc = self.subscribe_to_peer()
		with jobs.failures_logged("Event Streaming: test failure", "Event Producer", producer_doc.name):
			peer = transport.producer_peer(producer_doc.name)  # noqa: F841 - a local the log must not show
			body = {"api_secret": Secret(self.secret), "plain": self.secret}  # noqa: F841
			raise RuntimeError(f"failed while holding {self.secret}")
		logged = frappe.get_all(
			"Error Log",
			filters={"creation": (">=", self.since), "reference_name": producer_doc.name},
			fields=["error"],
		)
		self.assertEqual(len(logged), 1)
		self.assertIn("RuntimeError", logged[0].error)
		self.assertNotIn(self.secret, logged[0].error)
		self.assertSecretNowhere(self.secret)


class TestSecretsOnTheProducer(SecretsTestCase):
	"""The producer notifies a consumer that echoes its credentials, then one that is gone."""

	def setUp(self):
		super().setUp()
		self.producer = producer()
		self.producer.set_settings(auto_approve=1, auto_approve_consumers=self.peer.url)
		self.register_on_producer()
		self.addCleanup(self.producer.delete_if_exists, "Event Consumer", self.peer.url)
		self.addCleanup(self.producer.set_settings, auto_approve=0, auto_approve_consumers="")

	def register_on_producer(self):
		self.producer.call(
			"event_streaming.event_streaming.doctype.event_consumer.event_consumer.register_consumer",
			data={
				"event_consumer": self.peer.url,
				"consumer_doctypes": json.dumps([{"doctype": "ToDo", "condition": None}]),
				"user": "Administrator",
				"api_key": "echo-key",
				"api_secret": self.secret,
			},
		)

	def notification_error(self) -> str | None:
		return self.producer.get("Event Consumer", self.peer.url).get("last_notify_error")

	def test_failed_notifications_leave_no_secret_behind(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("notify echo")})
		self.addCleanup(self.producer.delete_if_exists, "ToDo", todo["name"])
		error = wait_for(self.notification_error, message="the failed notification")
		self.assertIn("rejected", error)
		self.assertNotIn(self.secret, error)
		self.assertIn(f"token echo-key:{self.secret}", authorizations(self.peer))

		# a fresh registration carries no backoff, so the next change pings the (now dead) peer at once
		self.peer.go_down()
		self.producer.delete("Event Consumer", self.peer.url)
		self.register_on_producer()
		self.producer.update("ToDo", todo["name"], {"description": unique("notify dead")})
		wait_for(lambda: "Could not reach" in (self.notification_error() or ""), message="the refused ping")

		errors = self.producer.get_list(
			"Error Log",
			filters={"creation": (">=", str(self.since))},
			fields=["name", "error", "method"],
			limit=500,
		)
		self.assertEqual([row["name"] for row in errors if self.secret in json.dumps(row)], [])
		self.assertSecretNowhere(self.secret)  # the producer's log files are on this bench too


class TestTransportBoundaries(SecretsTestCase):
	def test_a_redirect_is_not_followed(self):
		elsewhere = HostilePeer().start()
		self.addCleanup(elsewhere.stop)
		self.peer.replies[CAPABILITIES] = Reply(
			302, {}, headers={"Location": elsewhere.url + "/api/method/ping"}
		)
		peer = transport.Peer(self.peer.url, "key", self.secret)
		with self.assertRaises(transport.PeerError) as raised:
			peer.call("event_streaming.api.get_capabilities")
		self.assertIn("redirect", str(raised.exception))
		self.assertEqual(elsewhere.requests, [])

	def test_only_allowed_hosts_are_contacted(self):
		frappe.db.set_single_value(
			"Event Streaming Settings", "allowed_peer_hosts", "head-office.example.com"
		)
		self.addCleanup(frappe.db.set_single_value, "Event Streaming Settings", "allowed_peer_hosts", "")
		with self.assertRaises(transport.PeerNotAllowed):
			transport.Peer(self.peer.url, "key", self.secret).call("event_streaming.api.get_capabilities")
		self.assertEqual(self.peer.requests, [])

		frappe.db.set_single_value(
			"Event Streaming Settings", "allowed_peer_hosts", f"head-office.example.com\n{self.peer.url[7:]}"
		)
		reply = transport.Peer(self.peer.url, "key", self.secret).get_method(
			"event_streaming.api.get_capabilities"
		)
		self.assertEqual(reply["protocol"], 2)

	def test_an_oversized_reply_is_refused(self):
		self.peer.replies[CAPABILITIES] = Reply(
			200, b'{"message": "' + b"x" * transport.MAX_REPLY_BYTES + b'"}'
		)
		with self.assertRaises(transport.PeerError) as raised:
			transport.Peer(self.peer.url, "key", self.secret).call("event_streaming.api.get_capabilities")
		self.assertIn("larger than", str(raised.exception))
