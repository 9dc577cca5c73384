# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Issue 10, producer side: attacks on the producer over real HTTP, by a consumer or by any user
who can log in to the producer (a Website User, a plain System User, another subscriber).

Each test creates its attackers on the producer through REST as Administrator, logs in as them
with their own session, tries the attack and checks that the producer refused it and is unchanged.
"""

import contextlib
import json
import random

import frappe

from event_streaming.streaming import transport
from event_streaming.tests.utils import (
	PRODUCER_URL,
	ProducerError,
	ProducerSite,
	TwoSiteTestCase,
	producer,
	pull_all,
	unique,
	wait_for,
)

REGISTER = "event_streaming.event_streaming.doctype.event_consumer.event_consumer.register_consumer"
FEED = "event_streaming.api.get_update_log_page"
ACKNOWLEDGE = "event_streaming.api.acknowledge_update_logs"
DOCUMENTS = "event_streaming.api.get_documents"
FEED_V1 = (
	"event_streaming.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer"
)
FEED_V14 = "frappe.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer"
SUBSCRIBER_ROLE = "Event Streaming Subscriber"
DELIVERY_FIELDS = ("last_acked_sequence", "notify_failures", "last_notify_error")


def registration(url: str, user: str, doctypes=("ToDo",), key: str = "attacker-key") -> dict:
	"""The original's registration data (consumer_doctypes double-encoded)."""
	return {
		"data": json.dumps(
			{
				"event_consumer": url,
				"consumer_doctypes": json.dumps(
					[{"doctype": doctype, "condition": None} for doctype in doctypes]
				),
				"user": user,
				"api_key": key,
				"api_secret": "attacker-secret",
			}
		)
	}


def unreachable_url() -> str:
	"""A consumer address nothing listens on: anything the producer sends there fails at once."""
	return f"http://127.0.0.1:{random.randint(20000, 29999)}"


def server_message(body: dict) -> str:
	"""The text a refused request carries (Frappe's _server_messages, or the exception line)."""
	texts = []
	for message in json.loads(body.get("_server_messages") or "[]"):
		try:
			texts.append(json.loads(message).get("message") or "")
		except (ValueError, AttributeError):
			texts.append(str(message))
	return " ".join(texts) or str(body.get("exception") or "")


class ProducerTrustTestCase(TwoSiteTestCase):
	"""Creates users on the producer and removes them, and the consumers they own, afterwards."""

	def setUp(self):
		super().setUp()
		self.created_users = []
		self.created_consumers = []
		self.addCleanup(self.remove_created)

	def make_user(self, roles=()) -> ProducerSite:
		"""A user on the producer with a password and the given roles, logged in over HTTP."""
		email = f"{frappe.generate_hash(length=10)}@trust.example.com"
		password = f"{frappe.generate_hash(length=16)}-Aa1!"
		producer().insert(
			{
				"doctype": "User",
				"email": email,
				"first_name": "Trust Test",
				"send_welcome_email": 0,
				"new_password": password,
				"roles": [{"role": role} for role in roles],
			}
		)
		self.created_users.append(email)
		session = ProducerSite(user=email, password=password)
		session.user = email
		return session

	def remove_created(self):
		for name in self.created_consumers:
			producer().delete_if_exists("Event Consumer", name)
		for email in self.created_users:
			for name in producer().get_list("Event Consumer", filters={"user": email}):
				producer().delete("Event Consumer", name["name"])
			# a new User gets a Contact from a background job: let it finish, then remove both
			contacts = []
			with contextlib.suppress(AssertionError):
				contacts = wait_for(
					lambda email=email: producer().get_list("Contact", filters={"email_id": email}),
					timeout=15,
					message="the producer to create the test user's Contact",
				)
			producer().delete_if_exists("User", email)
			for contact in contacts:
				producer().delete_if_exists("Contact", contact["name"])

	def assertRefused(self, status: int, call, *args, **kwargs) -> str:
		with self.assertRaises(ProducerError) as raised:
			call(*args, **kwargs)
		self.assertEqual(raised.exception.status, status, raised.exception.body)
		message = server_message(raised.exception.body)
		self.assertTrue(message, "a refusal says why")
		self.assertNotIn("Traceback", message)
		return message

	def our_consumer(self) -> dict:
		return producer().get("Event Consumer", frappe.utils.get_url())


class TestRegistrationAndApproval(ProducerTrustTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_website_and_plain_system_users_cannot_register(self):
		for roles in ((), ("Blogger",)):
			intruder = self.make_user(roles)
			url = unreachable_url()
			message = self.assertRefused(403, intruder.call, REGISTER, **registration(url, intruder.user))
			self.assertIn(SUBSCRIBER_ROLE, message)
			self.assertFalse(producer().exists("Event Consumer", url))

	def test_a_third_party_cannot_take_over_a_registered_consumer(self):
		before = self.our_consumer()
		subscriber = self.make_user([SUBSCRIBER_ROLE])
		ours = frappe.utils.get_url()
		for user in (subscriber.user, "Administrator"):
			self.assertRefused(403, subscriber.call, REGISTER, **registration(ours, user, key="hijack"))
		after = self.our_consumer()
		self.assertEqual(after["user"], before["user"])
		self.assertEqual(after["api_key"], before["api_key"])
		self.assertEqual(after["owner"], before["owner"])
		self.assertEqual(
			[(row["ref_doctype"], row["status"]) for row in after["consumer_doctypes"]],
			[(row["ref_doctype"], row["status"]) for row in before["consumer_doctypes"]],
		)

	def test_a_subscriber_registers_only_itself_and_owns_its_consumer(self):
		subscriber = self.make_user([SUBSCRIBER_ROLE])
		url = unreachable_url()
		self.assertRefused(403, subscriber.call, REGISTER, **registration(url, "Administrator"))
		self.assertFalse(producer().exists("Event Consumer", url))

		reply = json.loads(subscriber.call(REGISTER, **registration(url + "/", subscriber.user)))
		self.created_consumers.append(url)
		self.assertEqual(reply["statuses"], {"ToDo": "Pending"})
		consumer = subscriber.get("Event Consumer", url)
		self.assertEqual((consumer["user"], consumer["owner"]), (subscriber.user, subscriber.user))
		# registering again is the subscriber's own business: allowed, approvals unchanged
		subscriber.call(REGISTER, **registration(url, subscriber.user, key="rotated"))
		self.assertEqual(subscriber.get("Event Consumer", url)["api_key"], "rotated")

	def test_a_subscriber_cannot_approve_or_redirect_its_consumer(self):
		subscriber = self.make_user([SUBSCRIBER_ROLE])
		url = unreachable_url()
		subscriber.call(REGISTER, **registration(url, subscriber.user))
		self.created_consumers.append(url)

		for incoming_change in (0, 1):
			remote = subscriber.get("Event Consumer", url)
			remote["consumer_doctypes"][0]["status"] = "Approved"
			remote["consumer_doctypes"].append({"ref_doctype": "Note", "status": "Approved"})
			remote["incoming_change"] = incoming_change
			remote["callback_url"] = "http://elsewhere.example.com"
			remote.update(
				{
					fieldname: 10**6 if fieldname != "last_notify_error" else "<b>x</b>"
					for fieldname in DELIVERY_FIELDS
				}
			)
			subscriber.update("Event Consumer", url, remote)
			stored = producer().get("Event Consumer", url)
			self.assertEqual(
				{(row["ref_doctype"], row["status"]) for row in stored["consumer_doctypes"]},
				{("ToDo", "Pending"), ("Note", "Pending")},
			)
			self.assertEqual((stored["callback_url"], stored["owner"]), (url, subscriber.user))
			for fieldname in DELIVERY_FIELDS:
				self.assertFalse(stored.get(fieldname), fieldname)

		for values in ({"user": "Administrator"}, {"owner": "Administrator"}):
			self.assertRefused(
				403, subscriber.update, "Event Consumer", url, {**values, "incoming_change": 1}
			)
		stored = producer().get("Event Consumer", url)
		self.assertEqual((stored["user"], stored["owner"]), (subscriber.user, subscriber.user))

	def test_a_subscriber_cannot_see_or_change_other_consumers(self):
		subscriber = self.make_user([SUBSCRIBER_ROLE])
		ours = frappe.utils.get_url()
		self.assertRefused(403, subscriber.get, "Event Consumer", ours)
		self.assertRefused(403, subscriber.update, "Event Consumer", ours, {"incoming_change": 1})
		self.assertEqual(subscriber.get_list("Event Consumer"), [])

	def test_the_feed_of_another_consumer_is_refused(self):
		subscriber = self.make_user([SUBSCRIBER_ROLE])
		own = unreachable_url()
		subscriber.call(REGISTER, **registration(own, subscriber.user))
		self.created_consumers.append(own)
		ours = frappe.utils.get_url()
		acked_before = self.our_consumer()["last_acked_sequence"]

		self.assertRefused(403, subscriber.call, FEED, event_consumer=ours, after=0)
		for method in (FEED_V1, FEED_V14):
			self.assertRefused(
				403, subscriber.call, method, event_consumer=ours, doctypes=["ToDo"], last_update="2000-01-01"
			)
		self.assertRefused(403, subscriber.call, ACKNOWLEDGE, event_consumer=ours, cursor=10**6)
		self.assertEqual(self.our_consumer()["last_acked_sequence"], acked_before)
		# its own feed it may read (nothing approved yet)
		self.assertEqual(subscriber.call(FEED, event_consumer=own, after=0)["logs"], [])

	def test_a_callback_url_must_be_a_site_origin(self):
		port = random.randint(20000, 29999)
		for url in (
			f"http://127.0.0.1:{port}/app",
			f"http://user:secret@127.0.0.1:{port}",
			f"http://127.0.0.1:{port}/?cmd=x",
			"ftp://127.0.0.1",
		):
			message = self.assertRefused(
				417, self.producer.call, REGISTER, **registration(url, "Administrator")
			)
			self.assertIn("site address", message)
		for name in (f"http://127.0.0.1:{port}", f"http://user:secret@127.0.0.1:{port}"):
			self.assertFalse(producer().exists("Event Consumer", name))

	def test_a_callback_url_must_be_on_the_allowed_peer_hosts(self):
		self.producer.set_settings(allowed_peer_hosts="es-consumer.localhost")
		self.addCleanup(self.producer.set_settings, allowed_peer_hosts="")
		url = unreachable_url()
		message = self.assertRefused(417, self.producer.call, REGISTER, **registration(url, "Administrator"))
		self.assertIn("Allowed Peer Hosts", message)
		self.assertFalse(producer().exists("Event Consumer", url))

	def test_desk_warns_when_two_consumers_share_a_user(self):
		second = unreachable_url()
		self.producer.call(REGISTER, **registration(second, "Administrator"))
		self.created_consumers.append(second)

		loaded = self.producer.session.get(
			f"{PRODUCER_URL}/api/method/frappe.desk.form.load.getdoc",
			params={"doctype": "Event Consumer", "name": second},
			timeout=30,
		).json()
		self.assertIn(frappe.utils.get_url(), loaded["docs"][0]["__onload"]["consumers_sharing_user"])

		saved = self.producer.session.put(
			f"{PRODUCER_URL}/api/resource/Event Consumer/{second}",
			data={"data": json.dumps({"api_key": "changed"})},
			timeout=30,
		)
		saved.raise_for_status()
		self.assertIn("read each other's feed", server_message(saved.json()))


class TestConditionsCannotWrite(ProducerTrustTestCase):
	token = frappe.generate_hash(length=12)
	subscribe = [
		{"ref_doctype": "Note", "condition": f'doc.db_set("content", "pwned {token}")'},
		{"ref_doctype": "ToDo"},
	]

	def test_a_condition_cannot_write_and_does_not_stall_the_feed(self):
		notes = [
			self.producer.insert({"doctype": "Note", "title": unique("cond write"), "content": "original"})
			for _ in range(2)
		]
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("after a broken condition")})
		pull_all()

		for note in notes:
			self.assertEqual(self.producer.get("Note", note["name"])["content"], "original")
			self.assertFalse(frappe.db.exists("Note", note["name"]))
		self.assertTrue(frappe.db.exists("ToDo", todo["name"]), "a broken condition stalled the feed")

		errors = self.producer.get_list(
			"Error Log",
			filters={"reference_name": frappe.utils.get_url(), "error": ["like", f"%{self.token}%"]},
			fields=["name", "error"],
		)
		self.assertEqual(len(errors), 1, "one Error Log for a failing condition, not one per log")
		self.assertIn("cannot change the document", errors[0]["error"])
		secret = frappe.get_doc("User", "Administrator").get_password("api_secret")
		self.assertNotIn(secret, errors[0]["error"])


class TestDocumentsServed(ProducerTrustTestCase):
	subscribe = [{"ref_doctype": "Note"}]

	def setUp(self):
		super().setUp()
		self.peer = transport.producer_peer(frappe.get_doc("Event Producer", PRODUCER_URL))

	def test_a_user_is_served_without_roles_profiles_or_keys(self):
		(user,) = self.peer.call(DOCUMENTS, doctype="User", names=["Administrator"])
		self.assertEqual(user["name"], "Administrator")
		for fieldname in (
			"roles",
			"role_profile_name",
			"module_profile",
			"api_key",
			"api_secret",
			"user_type",
		):
			self.assertNotIn(fieldname, user)

	def test_privileged_doctypes_singles_and_child_tables_are_refused(self):
		for doctype in (
			"Role Profile",
			"Role",
			"Has Role",
			"DocShare",
			"User Permission",
			"Note Seen By",
			"Website Settings",
			"Event Consumer",
		):
			message = self.assertRefused(403, self.producer.call, DOCUMENTS, doctype=doctype, names=["x"])
			self.assertIn("not served", message)

	def test_field_level_read_permissions_apply(self):
		setter = self.producer.insert(
			{
				"doctype": "Property Setter",
				"doctype_or_field": "DocField",
				"doc_type": "ToDo",
				"field_name": "priority",
				"property": "permlevel",
				"property_type": "Int",
				"value": "1",
			}
		)
		self.addCleanup(producer().delete_if_exists, "Property Setter", setter["name"])
		subscriber = self.make_user([SUBSCRIBER_ROLE])
		todo = self.producer.insert(
			{
				"doctype": "ToDo",
				"description": unique("permlevel"),
				"priority": "High",
				"allocated_to": subscriber.user,
			}
		)
		self.addCleanup(producer().delete_if_exists, "ToDo", todo["name"])

		(served,) = subscriber.call(DOCUMENTS, doctype="ToDo", names=[todo["name"]])
		self.assertEqual(served["description"], todo["description"])
		self.assertNotIn("priority", served)

	def test_names_must_be_a_short_list(self):
		for names in ("[not json", json.dumps({"name": "x"}), json.dumps([["x"]]), json.dumps(["x"] * 501)):
			message = self.assertRefused(417, self.producer.call, DOCUMENTS, doctype="ToDo", names=names)
			self.assertIn("Invalid request", message)


class TestMalformedRequests(ProducerTrustTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_malformed_arguments_get_a_clear_4xx(self):
		ours = frappe.utils.get_url()
		calls = [
			(REGISTER, {"data": "{not json"}),
			(REGISTER, {"data": json.dumps({"event_consumer": ours})}),
			(FEED, {"event_consumer": ours, "after": "abc"}),
			(FEED, {"event_consumer": ours, "after": 0, "limit": "many"}),
			(ACKNOWLEDGE, {"event_consumer": ours, "cursor": "abc"}),
			(ACKNOWLEDGE, {"event_consumer": ours, "cursor": 1, "delivered": "{not json"}),
			(ACKNOWLEDGE, {"event_consumer": ours, "cursor": 1, "delivered": json.dumps({"a": 1})}),
			(FEED_V1, {"event_consumer": ours, "doctypes": "[not json"}),
			(FEED_V1, {"event_consumer": ours, "doctypes": json.dumps([None])}),
			(DOCUMENTS, {"doctype": "No Such DocType", "names": "[]"}),
		]
		for method, params in calls:
			with self.subTest(method=method, params=params):
				with self.assertRaises(ProducerError) as raised:
					self.producer.call(method, **params)
				self.assertIn(raised.exception.status, (400, 417), raised.exception.body)
				self.assertTrue(server_message(raised.exception.body))

	def test_an_acknowledgement_cannot_run_ahead_of_the_feed(self):
		newest = self.producer.request(
			"GET",
			"/api/resource/Event Update Log",
			params={"fields": '["sequence"]', "order_by": "sequence desc", "limit_page_length": 1},
		)
		newest = newest[0]["sequence"] if newest else 0
		acked = self.producer.call(ACKNOWLEDGE, event_consumer=frappe.utils.get_url(), cursor=2**40)
		self.assertLessEqual(acked, newest + 5)


class TestUsersInTheFeed(ProducerTrustTestCase):
	subscribe = [{"ref_doctype": "User"}]

	def test_users_wait_for_a_person_and_their_logs_carry_no_roles_or_keys(self):
		"""Before: auto-approval approved a subscription to User, and its logs carried each user's
		roles, API key and logins (get_documents already left them out)."""
		consumer = self.our_consumer()
		self.assertEqual([row["status"] for row in consumer["consumer_doctypes"]], ["Pending"])
		for row in consumer["consumer_doctypes"]:
			row["status"] = "Approved"
		producer().update(
			"Event Consumer", consumer["name"], {"consumer_doctypes": consumer["consumer_doctypes"]}
		)

		user = self.make_user(roles=("System Manager",)).user
		producer().api_keys(user)  # a save that sets the user's API key and secret

		logs = producer().get_list(
			"Event Update Log",
			filters={"ref_doctype": "User", "docname": user},
			fields=["update_type", "data"],
		)
		self.assertEqual(sorted(log["update_type"] for log in logs)[0], "Create")
		for log in logs:
			data = json.loads(log["data"])
			changed = data.get("changed", data)
			for fieldname in ("roles", "api_key", "api_secret", "user_type", "role_profile_name"):
				self.assertNotIn(fieldname, changed, log["update_type"])
			self.assertNotIn("roles", data.get("added") or {})
