# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""A hostile producer against this consumer, over real HTTP: it controls every byte of the feed, of
get_documents replies and of its error texts (see hostile_peer). It may write only the subscribed
DocTypes and the link targets they need, never privileges; its diffs cannot forge bookkeeping
fields or jump document states; its renames never merge or force; its words reach Desk escaped;
malformed input fails alone; Pull Now and Resync keep the Desk session and the pull lock."""

import json
import re

import frappe
import requests
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import apply, jobs, pull, transport
from event_streaming.tests.hostile_peer import FEED, GET_DOCUMENTS, REGISTER, HostilePeer, Reply
from event_streaming.tests.utils import ADMIN_PASSWORD, unique

PRODUCER_MODULE = "event_streaming.event_streaming.doctype.event_producer.event_producer"
XSS = "<img src=x onerror=alert(1)>"
# an unclosed tag survives a strip_html that only removes complete tags
XSS_UNCLOSED = "<img src=x onerror=alert(2)//"


def hostile_name(prefix: str = "hostile") -> str:
	return f"{prefix}-{frappe.generate_hash(length=10)}"


class HostileProducerTestCase(FrappeTestCase):
	"""A consumer subscribed to ToDo and Note from a HostilePeer."""

	subscribe = [{"ref_doctype": "ToDo"}, {"ref_doctype": "Note"}]

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.peer = HostilePeer().start()
		cls.event_producer = cls.peer.subscribe(cls.subscribe).name

	@classmethod
	def tearDownClass(cls):
		cls.peer.stop()
		super().tearDownClass()

	def setUp(self):
		frappe.set_user("Administrator")
		self.peer.replies.clear()

	def pull(self) -> int:
		frappe.db.commit()
		applied = pull.pull_now(self.event_producer, wait=30)
		frappe.db.commit()
		return applied

	def sync_log(self, row: dict) -> frappe._dict:
		return frappe.db.get_value(
			"Event Sync Log",
			{"event_producer": self.event_producer, "update_log": row["name"]},
			["name", "status", "error", "data", "next_retry_at", "retry_count", "creation"],
			as_dict=True,
		)

	def assertFailed(self, row: dict, *fragments: str) -> frappe._dict:
		log = self.sync_log(row)
		self.assertIsNotNone(log, f"no sync log for {row['name']}")
		self.assertEqual(log.status, "Failed", log.error)
		for fragment in fragments:
			self.assertIn(fragment, log.error)
		return log

	def assertSynced(self, row: dict) -> frappe._dict:
		log = self.sync_log(row)
		self.assertIsNotNone(log, f"no sync log for {row['name']}")
		self.assertEqual(log.status, "Synced", log.error)
		return log

	def remove_later(self, doctype: str, name: str) -> None:
		def remove():
			frappe.db.rollback()
			frappe.db.delete(doctype, {"name": name})
			frappe.db.commit()

		self.addCleanup(remove)

	def todo(self, description: str = "from a hostile producer", **values) -> tuple[str, dict]:
		"""A well-formed Create of a ToDo in the feed; returns its name and feed row."""
		name = hostile_name()
		self.remove_later("ToDo", name)
		return name, self.peer.add_log("Create", "ToDo", name, {"description": description, **values})


class TestWhatAProducerMayWrite(HostileProducerTestCase):
	def test_a_dependency_user_arrives_without_roles_profiles_keys_or_logins(self):
		"""Before: the User kept role_profile_name, the Role Profile was fetched too and User.validate
		filled in its roles: the producer's user became System Manager here."""
		email = f"{hostile_name()}@hostile.example.com"
		profile, modules = hostile_name("profile"), hostile_name("modules")
		self.remove_later("User", email)
		self.remove_later("Role Profile", profile)
		self.remove_later("Module Profile", modules)
		self.peer.add_document(
			"Role Profile", {"name": profile, "role_profile": profile, "roles": [{"role": "System Manager"}]}
		)
		self.peer.add_document("Module Profile", {"name": modules, "module_profile_name": modules})
		self.peer.add_document(
			"User",
			{
				"name": email,
				"email": email,
				"first_name": "Hostile",
				"enabled": 1,
				"user_type": "System User",
				"role_profile_name": profile,
				"module_profile": modules,
				"roles": [{"role": "System Manager"}, {"role": "Administrator"}],
				"api_key": "hostile-api-key",
				"api_secret": "hostile-api-secret",
				"new_password": "Hostile-Password-123!",
				"social_logins": [{"provider": "frappe", "userid": "hostile-login"}],
				"send_welcome_email": 1,
			},
		)
		todo, row = self.todo(allocated_to=email, owner=email, assigned_by=email)
		self.pull()

		self.assertSynced(row)
		user = frappe.get_doc("User", email)
		self.assertEqual([r.role for r in user.roles], [])
		self.assertNotIn("System Manager", frappe.get_roles(email))
		self.assertEqual(user.user_type, "Website User")
		self.assertFalse(user.role_profile_name)
		self.assertFalse(user.module_profile)
		self.assertFalse(user.api_key)
		self.assertFalse(frappe.db.exists("Role Profile", profile))
		self.assertFalse(frappe.db.exists("Module Profile", modules))
		self.assertNotIn(profile, self.peer.requested_documents("Role Profile"))
		self.assertFalse(frappe.db.exists("User Social Login", {"parent": email, "userid": "hostile-login"}))
		passwords = frappe.db.sql(
			"SELECT fieldname FROM `__Auth` WHERE doctype = 'User' AND name = %s", (email,), pluck=True
		)
		self.assertEqual(passwords, [])
		self.assertNotEqual(frappe.db.get_value("ToDo", todo, "owner"), email)
		# no login either: disabled, and no welcome mail with a link to set a password
		self.assertEqual(user.enabled, 0)
		self.assertFalse(frappe.db.exists("Email Queue Recipient", {"recipient": email}))

	def test_dynamic_links_to_privileged_tables_or_singles_are_refused(self):
		"""Before: any non-Single DocType a Dynamic Link named was fetched and inserted."""
		targets = {
			"User Permission": {"user": "Administrator", "allow": "ToDo", "for_value": "x"},
			"Has Role": {"role": "System Manager", "parent": "Guest", "parenttype": "User"},
			"DocPerm": {"role": "Guest", "parent": "ToDo", "parenttype": "DocType", "write": 1},
			"Note Seen By": {"user": "Administrator"},
			"System Settings": {},
			# sent, shown or rendered by this site on its own
			"Email Queue": {"status": "Not Sent", "sender": "a@hostile.example.com", "message": "x"},
			"Translation": {"language": "en", "source_text": "Save", "translated_text": XSS},
			"Letter Head": {"letter_head_name": "hostile", "source": "HTML", "content": XSS},
			"Comment": {"comment_type": "Comment", "content": XSS},
		}
		for target, values in targets.items():
			with self.subTest(target=target):
				name = hostile_name(frappe.scrub(target))
				self.peer.add_document(target, {"name": name, "doctype": target, **values})
				todo, row = self.todo(reference_type=target, reference_name=name)
				self.pull()

				self.assertFailed(row, "cannot come from the producer", target)
				self.assertFalse(frappe.db.exists("ToDo", todo))
				if not frappe.get_meta(target).issingle:
					self.assertFalse(frappe.db.exists(target, name))
				self.assertNotIn(name, self.peer.requested_documents(target))

	def test_the_allowed_dependency_doctypes_setting_limits_what_is_created(self):
		contact = hostile_name("contact")
		self.remove_later("Contact", contact)
		self.peer.add_document("Contact", {"name": contact, "first_name": contact})
		self.addCleanup(self.set_allowed_dependencies, "")
		self.set_allowed_dependencies("User\nNote")
		todo, row = self.todo(reference_type="Contact", reference_name=contact)
		self.pull()

		log = self.assertFailed(row, "Allowed Dependency DocTypes")
		self.assertFalse(frappe.db.exists("Contact", contact))

		self.set_allowed_dependencies("User\nContact")
		self.assertEqual(pull.resync(log.name), "Synced")
		frappe.db.commit()
		self.assertTrue(frappe.db.exists("Contact", contact))
		self.assertEqual(frappe.db.get_value("ToDo", todo, "reference_name"), contact)

	def test_a_letter_head_is_created_only_where_the_consumer_allows_it(self):
		"""Letter heads, templates, comments and files are shown or sent by this site: only by name."""
		letter_head = hostile_name("letter-head")
		self.remove_later("Letter Head", letter_head)
		self.peer.add_document("Letter Head", {"name": letter_head, "letter_head_name": letter_head})
		self.addCleanup(self.set_allowed_dependencies, "")
		todo, row = self.todo(reference_type="Letter Head", reference_name=letter_head)
		self.pull()

		log = self.assertFailed(row, "Allowed Dependency DocTypes")
		self.assertFalse(frappe.db.exists("Letter Head", letter_head))

		self.set_allowed_dependencies("Letter Head")
		self.assertEqual(pull.resync(log.name), "Synced")
		frappe.db.commit()
		self.assertTrue(frappe.db.exists("Letter Head", letter_head))
		self.assertEqual(frappe.db.get_value("ToDo", todo, "reference_name"), letter_head)

	def set_allowed_dependencies(self, text: str) -> None:
		frappe.db.set_single_value("Event Streaming Settings", "allowed_dependency_doctypes", text)
		frappe.db.commit()

	def test_get_documents_cannot_slip_in_records_that_were_not_asked_for(self):
		email = f"{hostile_name()}@hostile.example.com"
		extra = f"{hostile_name()}@hostile.example.com"
		self.remove_later("User", email)
		self.remove_later("User", extra)
		self.peer.replies[GET_DOCUMENTS] = Reply(
			200,
			{
				"message": [
					{"name": extra, "email": extra, "first_name": "Extra"},
					{"name": email, "email": email, "first_name": "Asked"},
				]
			},
		)
		_todo, row = self.todo(allocated_to=email)
		self.pull()

		self.assertSynced(row)
		self.assertTrue(frappe.db.exists("User", email))
		self.assertFalse(frappe.db.exists("User", extra))

	def test_a_change_of_a_doctype_not_subscribed_is_not_applied(self):
		"""Before: skipped without a trace."""
		contact = hostile_name("contact")
		self.remove_later("Contact", contact)
		row = self.peer.add_log("Create", "Contact", contact, {"first_name": contact})
		self.pull()

		log = self.assertFailed(row, "does not subscribe to Contact")
		self.assertIsNone(log.next_retry_at)
		self.assertFalse(frappe.db.exists("Contact", contact))

	def test_an_update_cannot_forge_owner_timestamps_assignments_or_likes(self):
		todo, _row = self.todo("before")
		self.pull()
		before = frappe.db.get_value("ToDo", todo, ["owner", "creation"], as_dict=True)
		row = self.peer.add_log(
			"Update",
			"ToDo",
			todo,
			{
				"changed": {
					"description": "after",
					"owner": "forged@hostile.example.com",
					"creation": "2001-01-01 00:00:00",
					"modified_by": "forged@hostile.example.com",
					"_assign": '["forged@hostile.example.com"]',
					"_liked_by": '["forged@hostile.example.com"]',
					"_seen": '["forged@hostile.example.com"]',
					"_comments": '[{"comment": "forged"}]',
					"remote_site_name": "https://elsewhere.example.com",
				}
			},
		)
		self.pull()

		self.assertSynced(row)
		after = frappe.db.get_value(
			"ToDo",
			todo,
			["description", "owner", "creation", "modified_by", "_assign", "_liked_by", "_seen", "_comments"],
			as_dict=True,
		)
		self.assertEqual(after.description, "after")
		self.assertEqual((after.owner, after.creation), (before.owner, before.creation))
		self.assertNotEqual(after.modified_by, "forged@hostile.example.com")
		for field in ("_assign", "_liked_by", "_seen", "_comments"):
			self.assertNotIn("forged", after[field] or "", field)

	def test_an_update_cannot_cancel_a_draft(self):
		"""Before: saved as a draft with the other changes, and recorded as Synced."""
		todo, _row = self.todo("draft")
		self.pull()
		row = self.peer.add_log("Update", "ToDo", todo, {"changed": {"docstatus": 2, "description": "x"}})
		self.pull()

		self.assertFailed(row, "only submitting a draft")
		self.assertEqual(frappe.db.get_value("ToDo", todo, ["docstatus", "description"]), (0, "draft"))

	def test_a_create_cannot_arrive_submitted_for_a_doctype_that_is_not_submittable(self):
		"""Before: Frappe inserted a ToDo with docstatus 1, which then could no longer be edited."""
		todo, row = self.todo(docstatus=1)
		self.pull()

		self.assertFailed(row, "document status 1")
		self.assertFalse(frappe.db.exists("ToDo", todo))

	def test_rows_of_another_document_are_never_touched(self):
		first, second = hostile_name("note"), hostile_name("note")
		self.remove_later("Note", first)
		self.remove_later("Note", second)
		row_name = hostile_name("row")
		self.peer.add_log(
			"Create",
			"Note",
			first,
			{"title": first, "seen_by": [{"name": row_name, "user": "Administrator"}]},
		)
		self.peer.add_log("Create", "Note", second, {"title": second})
		self.pull()
		moved = self.peer.add_log(
			"Update",
			"Note",
			second,
			{"row_changed": {"seen_by": [{"name": row_name, "user": "Guest", "parent": second}]}},
		)
		self.pull()

		self.assertFailed(moved, "does not exist here")
		self.assertEqual(
			frappe.db.get_value("Note Seen By", row_name, ["parent", "user"]), (first, "Administrator")
		)

	def test_a_rename_never_merges(self):
		"""Before: rename_doc(merge=True, force=True) on the producer's say merged one into the other."""
		kept, target = hostile_name(), hostile_name()
		for name, description in ((kept, "kept"), (target, "target")):
			self.remove_later("ToDo", name)
			self.peer.add_log("Create", "ToDo", name, {"description": description})
		self.pull()
		row = self.peer.add_log(
			"Update", "ToDo", kept, {"rename": {"old_name": kept, "new_name": target, "merge": 1}}
		)
		self.pull()

		self.assertFailed(row, "never merges")
		self.assertEqual(frappe.db.get_value("ToDo", kept, "description"), "kept")
		self.assertEqual(frappe.db.get_value("ToDo", target, "description"), "target")

	def test_a_rename_is_not_forced_past_a_doctype_that_does_not_allow_renaming(self):
		todo, _row = self.todo("not renamable")
		new_name = hostile_name()
		self.remove_later("ToDo", new_name)
		self.pull()
		row = self.peer.add_log("Update", "ToDo", todo, {"rename": {"old_name": todo, "new_name": new_name}})
		self.pull()

		self.assertFailed(row, "not allowed to be renamed")
		self.assertTrue(frappe.db.exists("ToDo", todo))
		self.assertFalse(frappe.db.exists("ToDo", new_name))


class TestMappedDependencies(HostileProducerTestCase):
	"""A mapping is configured here, so its local DocType is approved; the link targets of what it
	makes are dependencies like any other."""

	MAPPING = "ES Hostile ToDo from Note"
	subscribe = [{"ref_doctype": "ToDo", "has_mapping": 1, "mapping": MAPPING}]

	@classmethod
	def setUpClass(cls):
		if frappe.db.exists("Document Type Mapping", cls.MAPPING):
			frappe.delete_doc("Document Type Mapping", cls.MAPPING, force=True)
		frappe.get_doc(
			{
				"doctype": "Document Type Mapping",
				"mapping_name": cls.MAPPING,
				"local_doctype": "ToDo",
				"remote_doctype": "Note",
				"field_mapping": [
					{"local_fieldname": "description", "remote_fieldname": "content"},
					{"local_fieldname": "reference_type", "default_value": "User Permission"},
					{"local_fieldname": "reference_name", "default_value": "hostile-permission"},
				],
			}
		).insert()
		frappe.db.commit()
		super().setUpClass()

	@classmethod
	def tearDownClass(cls):
		super().tearDownClass()
		frappe.delete_doc("Document Type Mapping", cls.MAPPING, force=True)
		frappe.db.commit()

	def test_a_mapped_document_cannot_bring_a_privileged_link_target(self):
		self.peer.add_document(
			"User Permission",
			{"name": "hostile-permission", "user": "Administrator", "allow": "ToDo", "for_value": "x"},
		)
		note = hostile_name("note")
		self.remove_later("ToDo", note)
		row = self.peer.add_log("Create", "Note", note, {"title": note, "content": "mapped"})
		self.pull()

		self.assertFailed(row, "cannot come from the producer")
		self.assertFalse(frappe.db.exists("User Permission", "hostile-permission"))
		self.assertFalse(frappe.db.exists("ToDo", note))


class TestBadInputNeverStallsTheStream(HostileProducerTestCase):
	def test_malformed_rows_fail_alone_and_the_stream_goes_on(self):
		"""Before: one bad row refused its whole page forever; a non-string docname crashed the pull."""
		_first, first = self.todo("first good")
		bad = [
			self.peer.add_log("Create", "ToDo", {"not": "a name"}, {"description": "x"}),
			self.peer.add_log("Create", "ToDo", ["a", "list"], {"description": "x"}),
			self.peer.add_log("Drop", "ToDo", hostile_name(), {"description": "x"}),
			self.peer.add_log("Create", "ToDo", hostile_name(), "{not json"),
			self.peer.add_log("Create", "ToDo", hostile_name(), "[1, 2]"),
			self.peer.add_log("Create", "ToDo", "x" * 500, {"description": "x"}),
			self.peer.add_log("Create", "ToDo", hostile_name(), {"description": "x"}, sequence="many"),
			self.peer.add_log("Update", "ToDo", hostile_name(), {"changed": "not an object"}),
			self.peer.add_log("Create", {"a": "doctype"}, hostile_name(), {"description": "x"}),
			# no database stores a NUL (PostgreSQL) or a lone surrogate (UTF-8): before, the page's
			# sync log statement failed and the stream stopped there
			self.peer.add_log("Create", "ToDo", "nul\x00name", {"description": "x"}),
			self.peer.add_log("Create", "ToDo", "lone\ud800surrogate", {"description": "x"}),
		]
		self.peer.add_raw_log(42)
		self.peer.add_raw_log({"update_type": "Create"})
		_second_name, second = self.todo("second good")
		self.pull()

		for row in (first, second):
			self.assertSynced(row)
		for row in bad:
			self.assertFailed(row, "cannot be applied")
		self.assertFalse(frappe.db.get_value("Event Producer", self.event_producer, "last_pull_error"))
		self.assertEqual(self.cursor(), len(self.peer.logs))

		third_name, third = self.todo("after the bad page")
		self.pull()
		self.assertSynced(third)
		self.assertTrue(frappe.db.exists("ToDo", third_name))

	def test_a_doctype_name_that_is_none_here_is_kept_as_data_not_as_a_link(self):
		"""Before: a producer's DocType name went into the sync log's Link column as sent, and Desk
		wrote it into the list's and form's markup."""
		row = self.peer.add_log("Create", f'x"onmouseover="alert(1)"{XSS}', hostile_name(), {"a": 1})
		self.pull()

		log = self.assertFailed(row, "does not subscribe")
		self.assertIsNone(frappe.db.get_value("Event Sync Log", log.name, "ref_doctype"))

	def cursor(self) -> int:
		return frappe.db.get_value(
			"Event Producer Last Update", {"event_producer": self.event_producer}, "last_sequence"
		)

	def test_a_cursor_out_of_range_is_a_clear_last_pull_error_until_the_producer_fixes_it(self):
		"""Before: the cursor reached the Int column and the database refused it, on every pull."""
		self.peer.replies[FEED] = Reply(
			200, {"message": {"logs": [], "next_cursor": 2**40, "has_more": False}}
		)
		with self.assertRaises(transport.PeerError):
			self.pull()
		self.assertIn(
			"out of range", frappe.db.get_value("Event Producer", self.event_producer, "last_pull_error")
		)

		del self.peer.replies[FEED]
		_name, row = self.todo("fixed")
		self.pull()
		self.assertSynced(row)
		self.assertFalse(frappe.db.get_value("Event Producer", self.event_producer, "last_pull_error"))

	def test_a_page_of_sync_logs_larger_than_max_allowed_packet_is_applied(self):
		"""Before: the page's sync logs went into one INSERT, which the server refused, forever."""
		packet = apply.server_statement_bytes()
		if packet > transport.MAX_REPLY_BYTES // 2:
			self.skipTest("a page this large would exceed the reply size a producer may send")
		size = 1024 * 1024
		rows = [self.todo("x" * size)[1] for _ in range(packet // size + 4)]
		self.pull()

		for row in rows:
			self.assertSynced(row)

	def test_a_reply_larger_than_the_cap_is_refused_until_the_producer_sends_less(self):
		padding = b"x" * (transport.MAX_REPLY_BYTES + 1)
		self.peer.replies[FEED] = Reply(
			200, b'{"message": {"logs": [], "next_cursor": 0, "has_more": false, "pad": "' + padding + b'"}}'
		)
		with self.assertRaises(transport.PeerError):
			self.pull()
		self.assertIn(
			"larger than", frappe.db.get_value("Event Producer", self.event_producer, "last_pull_error")
		)

		del self.peer.replies[FEED]
		_name, row = self.todo("small again")
		self.pull()
		self.assertSynced(row)

	def test_sync_logs_are_written_in_statements_under_the_limit_in_order(self):
		self.addCleanup(setattr, apply, "statement_bytes_limit", None)
		apply.statement_bytes_limit = 20_000
		rows = [self.todo(f"{index:03} " + "y" * 3000)[1] for index in range(12)]
		huge_name, huge = self.todo("z" * 30_000)
		self.pull()

		logs = [self.assertSynced(row) for row in rows]
		self.assertEqual([log.creation for log in logs], sorted(log.creation for log in logs))
		self.assertTrue(all(log.data for log in logs))
		self.assertTrue(self.assertSynced(huge).data is None, "the oversized data was kept")
		self.assertEqual(len(frappe.db.get_value("ToDo", huge_name, "description")), 30_000)


def desk_session() -> tuple[requests.Session, str]:
	"""A browser-like Desk session on this site: logged in, with the CSRF token /app hands out."""
	url = frappe.utils.get_url()
	session = requests.Session()
	session.post(
		f"{url}/api/method/login", data={"usr": "Administrator", "pwd": ADMIN_PASSWORD}, timeout=60
	).raise_for_status()
	page = session.get(f"{url}/app", timeout=60)
	page.raise_for_status()
	token = re.search(r'frappe\.csrf_token\s*=\s*"([^"]+)"', page.text).group(1)
	return session, token


def desk_post(session: requests.Session, token: str, path: str, **data) -> requests.Response:
	return session.post(
		f"{frappe.utils.get_url()}/api/method/{path}",
		data=data,
		headers={"X-Frappe-CSRF-Token": token, "Accept": "application/json"},
		timeout=120,
	)


class TestDeskSessionAndOutput(HostileProducerTestCase):
	def assertSessionStillWorks(self, session, token):
		reply = desk_post(session, token, "frappe.auth.get_logged_user")
		self.assertEqual(reply.status_code, 200, reply.text[:500])
		self.assertEqual(reply.json()["message"], "Administrator")

	def persist_session_on_next_request(self, session) -> None:
		"""Frappe saves a session at most every ten minutes: make the next request save it, as one
		would ten minutes after the last save."""
		frappe.cache.hdel("last_db_session_update", session.cookies.get("sid"))

	def failed_log(self) -> str:
		_todo, row = self.todo(allocated_to="nobody@hostile.example.com")  # a User it cannot supply
		self.pull()
		return self.assertFailed(row).name

	def test_pull_now_and_resync_keep_the_desk_session_and_its_csrf_token(self):
		"""Before: frappe.set_user inside the request replaced the session's data, CSRF token included,
		and that is what Frappe saved at the end of the request."""
		log = self.failed_log()
		session, token = desk_session()
		calls = [
			("run_doc_method", {"dt": "Event Producer", "dn": self.event_producer, "method": "pull_now"}),
			(
				"event_streaming.event_streaming.doctype.event_producer.event_producer.pull_from_node",
				{"event_producer": self.event_producer},
			),
			("event_streaming.event_streaming.doctype.event_producer.event_producer.resync", {"update": log}),
			("event_streaming.api.resync_failed_logs", {"names": f'["{log}"]'}),
		]
		for method, data in calls:
			with self.subTest(method=method):
				self.persist_session_on_next_request(session)
				reply = desk_post(session, token, method, **data)
				self.assertEqual(reply.status_code, 200, reply.text[:500])
				self.assertSessionStillWorks(session, token)

	def test_a_producers_error_text_reaches_desk_escaped(self):
		"""A synchronous pull (pull_from_node) shows why the producer failed, as text: never its
		markup. (The Pull Now button runs in the background; its form shows the error escaped.)"""
		session, token = desk_session()
		well_formed = json.dumps([json.dumps({"message": XSS_UNCLOSED})])
		for body in ({"exception": XSS}, {"_server_messages": well_formed}):
			with self.subTest(body=body):
				self.peer.replies[FEED] = Reply(417, {"exc_type": "ValidationError", **body})
				reply = desk_post(
					session,
					token,
					f"{PRODUCER_MODULE}.pull_from_node",
					event_producer=self.event_producer,
				)
				self.assertEqual(reply.status_code, 417, reply.text[:500])
				messages = reply.json().get("_server_messages") or ""
				self.assertIn("&lt;img src=x onerror=alert(", messages)
				self.assertNotIn("<img", messages)

	def test_a_failed_push_to_the_producer_is_shown_escaped(self):
		"""Saving a subscription change while the producer fails: the alert quotes it as text."""
		self.peer.replies[f"GET /api/resource/Event Consumer/{frappe.utils.get_url()}"] = Reply(
			417, {"exc_type": "ValidationError", "exception": XSS}
		)
		frappe.clear_messages()
		producer = frappe.get_doc("Event Producer", self.event_producer)
		producer.producer_doctypes[0].condition = "doc.description"
		self.addCleanup(self.reset_condition)
		producer.save()

		alerts = [m for m in frappe.get_message_log() if "Could not reach" in str(m.get("message"))]
		self.assertTrue(alerts)
		self.assertIn("&lt;img src=x onerror=alert(1)&gt;", alerts[0]["message"])
		self.assertNotIn("<img", alerts[0]["message"])

	def reset_condition(self):
		frappe.db.rollback()
		frappe.db.set_value(
			"Event Producer Document Type", {"parent": self.event_producer}, "condition", None
		)
		frappe.db.commit()

	def test_a_failed_registration_is_shown_escaped(self):
		with HostilePeer() as other:
			other.replies[REGISTER] = Reply(417, {"exc_type": "ValidationError", "exception": XSS})
			frappe.clear_messages()
			with self.assertRaises(transport.PeerError):
				other.subscribe([{"ref_doctype": "ToDo"}])
			frappe.db.rollback()
			messages = " ".join(str(m.get("message")) for m in frappe.get_message_log())
			self.assertIn("&lt;img src=x onerror=alert(1)&gt;", messages)
			self.assertNotIn("<img", messages)


class TestWhoMayPullOrResync(HostileProducerTestCase):
	def test_users_without_the_right_are_refused(self):
		"""A Website User and a System User without roles, logged in over HTTP, may neither pull,
		notify, nor resync."""
		log = self.failed_log_name()
		for user_type in ("Website User", "System User"):
			with self.subTest(user_type=user_type):
				session, token = self.login_as_new_user(user_type)
				calls = [
					(
						"run_doc_method",
						{"dt": "Event Producer", "dn": self.event_producer, "method": "pull_now"},
					),
					(f"{PRODUCER_MODULE}.pull_from_node", {"event_producer": self.event_producer}),
					(f"{PRODUCER_MODULE}.pull_producer_data", {}),
					(f"{PRODUCER_MODULE}.new_event_notification", {"producer_url": self.event_producer}),
					(f"{PRODUCER_MODULE}.new_event_notification", {"producer_url": "http://unknown.example"}),
					(f"{PRODUCER_MODULE}.resync", {"update": log}),
					("event_streaming.api.resync_failed_logs", {"names": f'["{log}"]'}),
				]
				for method, data in calls:
					reply = desk_post(session, token, method, **data)
					self.assertEqual(reply.status_code, 403, f"{method}: {reply.text[:300]}")
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("Event Sync Log", log, "retry_count"), 0)

	def failed_log_name(self) -> str:
		_todo, row = self.todo(allocated_to="nobody@hostile.example.com")  # a User it cannot supply
		self.pull()
		return self.assertFailed(row).name

	def login_as_new_user(self, user_type: str) -> tuple[requests.Session, str]:
		email = f"{hostile_name('plain')}@consumer.example.com"
		password = frappe.generate_hash(length=16) + "aA1!"
		frappe.get_doc(
			{
				"doctype": "User",
				"email": email,
				"first_name": "Plain",
				"user_type": user_type,
				"send_welcome_email": 0,
				"new_password": password,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		self.addCleanup(frappe.delete_doc, "User", email, force=True, ignore_permissions=True)
		session = requests.Session()
		url = frappe.utils.get_url()
		session.post(
			f"{url}/api/method/login", data={"usr": email, "pwd": password}, timeout=60
		).raise_for_status()
		# a session gets its CSRF token when Desk is first rendered; without one Frappe checks none
		found = re.search(r'frappe\.csrf_token\s*=\s*"([^"]+)"', session.get(f"{url}/app", timeout=60).text)
		return session, found.group(1) if found else ""


class TestResyncHoldsThePullLock(HostileProducerTestCase):
	def test_resync_waits_for_a_running_pull_and_says_so(self):
		"""Before: a resync ran alongside a pull of the same producer."""
		_todo, row = self.todo(allocated_to="nobody@hostile.example.com")  # a User it cannot supply
		self.pull()
		log = self.assertFailed(row)
		other = self.other_connection()
		key = pull.pull_key(self.event_producer)
		if frappe.db.db_type == "postgres":
			take, release = "SELECT pg_try_advisory_lock(%s)", "SELECT pg_advisory_unlock(%s)"
			lock = jobs.lock_key(key)
		else:
			take, release = "SELECT GET_LOCK(%s, 0)", "SELECT RELEASE_LOCK(%s)"
			lock = jobs.lock_name(key)
		self.assertEqual(other.sql(take, (lock,))[0][0], 1)
		try:
			with self.assertRaises(pull.PullBusy) as raised:
				pull.resync(log.name, wait=1)
			self.assertIn("resync again in a moment", str(raised.exception))
			with self.assertRaises(pull.PullBusy):
				pull.resync_logs([log.name], wait=1)
			self.assertEqual(frappe.db.get_value("Event Sync Log", log.name, "retry_count"), log.retry_count)
		finally:
			other.sql(release, (lock,))
			other.close()
		self.assertEqual(pull.resync(log.name, wait=1), "Failed")
		self.assertEqual(frappe.db.get_value("Event Sync Log", log.name, "retry_count"), log.retry_count + 1)

	def other_connection(self):
		from frappe.database import get_db

		return get_db(
			host=frappe.conf.db_host,
			port=frappe.conf.db_port,
			user=frappe.conf.db_user or frappe.conf.db_name,
			password=frappe.conf.db_password,
			cur_db_name=frappe.conf.db_name,
		)
