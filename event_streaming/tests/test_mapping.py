# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Document Type Mapping over real HTTP: a producer DocType replayed into a different local one,
field by field, with child tables and linked documents, plus the mappings refused on save."""

import frappe
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import mapping
from event_streaming.tests.utils import (
	PRODUCER_URL,
	TwoSiteTestCase,
	make_event_producer,
	pull_all,
	unique,
	wait_for,
)

READER_DOCTYPE = "ES Mapped Reader"
MAPPED_NOTE_DOCTYPE = "ES Mapped Note"


def make_mapping(name: str, local_doctype: str, remote_doctype: str, rows: list[dict]):
	delete_mapping(name)
	return frappe.get_doc(
		{
			"doctype": "Document Type Mapping",
			"mapping_name": name,
			"local_doctype": local_doctype,
			"remote_doctype": remote_doctype,
			"field_mapping": rows,
		}
	).insert()


def delete_mapping(name: str) -> None:
	if frappe.db.exists("Document Type Mapping", name):
		frappe.delete_doc("Document Type Mapping", name, force=True)


def delete_local(doctype: str, name: str) -> None:
	if frappe.db.exists(doctype, name):
		frappe.delete_doc(doctype, name, force=True, ignore_permissions=True)
	frappe.db.commit()


def sync_logs(producer_doc: str, update_type: str) -> list[dict]:
	return frappe.get_all(
		"Event Sync Log",
		filters={"event_producer": PRODUCER_URL, "producer_doc": producer_doc, "update_type": update_type},
		fields=["status", "error", "ref_doctype", "mapping"],
	)


class MappingTestCase(TwoSiteTestCase):
	"""Creates its Document Type Mappings (inner ones first) before subscribing, removes them after."""

	mappings: list[dict] = []

	@classmethod
	def setUpClass(cls):
		frappe.set_user("Administrator")
		cls.make_fixtures()
		for spec in cls.mappings:
			make_mapping(**spec)
		frappe.db.commit()
		super().setUpClass()

	@classmethod
	def tearDownClass(cls):
		super().tearDownClass()
		for spec in reversed(cls.mappings):
			delete_mapping(spec["name"])
		cls.remove_fixtures()
		frappe.db.commit()

	@classmethod
	def make_fixtures(cls):
		pass

	@classmethod
	def remove_fixtures(cls):
		pass

	def insert_note(self, **values) -> dict:
		note = self.producer.insert({"doctype": "Note", "title": unique("mapped"), **values})
		self.addCleanup(self.producer.delete_if_exists, "Note", note["name"])
		return note


class TestMapping(MappingTestCase):
	"""The original's test_mapping: Note on the producer, ToDo here, description <- content."""

	mappings = [
		{
			"name": "ToDo to Note",
			"local_doctype": "ToDo",
			"remote_doctype": "Note",
			"rows": [{"local_fieldname": "description", "remote_fieldname": "content"}],
		}
	]
	subscribe = [{"ref_doctype": "ToDo", "has_mapping": 1, "mapping": "ToDo to Note", "use_same_name": 1}]

	def test_insert_update_and_delete_reach_the_mapped_doctype(self):
		"""A Note becomes a ToDo with description = content; its update and delete follow."""
		note = self.insert_note(content="first content")
		self.addCleanup(delete_local, "ToDo", note["name"])
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", note["name"], "description"), "first content")
		self.assertFalse(frappe.db.exists("Note", note["name"]))
		self.assertEqual(
			sync_logs(note["name"], "Create")[0],
			{"status": "Synced", "error": None, "ref_doctype": "ToDo", "mapping": "ToDo to Note"},
		)

		self.producer.update("Note", note["name"], {"content": "second content"})
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", note["name"], "description"), "second content")

		self.producer.delete("Note", note["name"])
		pull_all()
		self.assertFalse(frappe.db.exists("ToDo", note["name"]))
		self.assertEqual(sync_logs(note["name"], "Delete")[0]["status"], "Synced")

	def test_diff_on_an_unmapped_table_fails_that_log_only(self):
		"""Note.seen_by is not in the mapping: that Update fails alone, the rest of the pull applies."""
		blocked = self.insert_note(content="a")
		other = self.insert_note(content="b")
		self.addCleanup(delete_local, "ToDo", blocked["name"])
		self.addCleanup(delete_local, "ToDo", other["name"])
		pull_all()

		self.producer.update(
			"Note", blocked["name"], {"seen_by": [{"user": "Administrator"}], "content": "a2"}
		)
		self.producer.update("Note", other["name"], {"content": "b2"})
		pull_all()

		self.assertEqual(frappe.db.get_value("ToDo", other["name"], "description"), "b2")
		self.assertEqual(frappe.db.get_value("ToDo", blocked["name"], "description"), "a")
		failed = sync_logs(blocked["name"], "Update")
		self.assertEqual(len(failed), 1)
		self.assertEqual(failed[0]["status"], "Failed")
		self.assertIn("seen_by", failed[0]["error"])
		self.assertIn("ToDo to Note", failed[0]["error"])
		self.assertEqual(sync_logs(other["name"], "Update")[0]["status"], "Synced")

	def test_create_ignores_a_remote_table_with_no_counterpart(self):
		"""A Create snapshot's unmapped table has nowhere to go here; the document still arrives."""
		note = self.insert_note(content="with rows", seen_by=[{"user": "Administrator"}])
		self.addCleanup(delete_local, "ToDo", note["name"])
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", note["name"], "description"), "with rows")

	def test_update_of_a_missing_copy_maps_the_current_document(self):
		"""An Update whose local copy is gone brings the producer's current Note in as a ToDo again."""
		note = self.insert_note(content="original")
		self.addCleanup(delete_local, "ToDo", note["name"])
		pull_all()
		delete_local("ToDo", note["name"])
		self.producer.update("Note", note["name"], {"content": "current"})
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", note["name"], "description"), "current")

	def test_remote_fields_are_read_from_the_producer(self):
		"""The form offers the producer's fieldnames of the remote DocType."""
		fields = frappe.get_doc("Document Type Mapping", "ToDo to Note").get_remote_fields()
		fieldnames = [field["fieldname"] for field in fields]
		for fieldname in ("name", "title", "content", "public", "seen_by"):
			self.assertIn(fieldname, fieldnames)
		self.assertNotIn("Section Break", {field["fieldtype"] for field in fields})


class TestMappedSubscription(MappingTestCase):
	"""A mapped row subscribes to the remote DocType, and the producer's approval comes back to it."""

	mappings = [
		{
			"name": "Test Subscribed ToDo from Note",
			"local_doctype": "ToDo",
			"remote_doctype": "Note",
			"rows": [{"local_fieldname": "description", "remote_fieldname": "content"}],
		}
	]
	subscribe = [
		{
			"ref_doctype": "ToDo",
			"has_mapping": 1,
			"mapping": "Test Subscribed ToDo from Note",
			"use_same_name": 1,
		}
	]

	def local_status(self) -> str:
		return frappe.db.get_value("Event Producer Document Type", {"parent": PRODUCER_URL}, "status")

	def test_producer_approves_the_remote_doctype_and_the_approval_is_mirrored(self):
		make_event_producer(self.subscribe, auto_approve=False)
		remote = self.producer.get("Event Consumer", frappe.utils.get_url())
		self.assertEqual(
			[(row["ref_doctype"], row["status"]) for row in remote["consumer_doctypes"]],
			[("Note", "Pending")],
		)
		self.assertEqual(self.local_status(), "Pending")

		remote["consumer_doctypes"][0]["status"] = "Approved"
		self.producer.update(
			"Event Consumer", remote["name"], {"consumer_doctypes": remote["consumer_doctypes"]}
		)
		wait_for(lambda: self.local_status() == "Approved", message="the approval to be mirrored")

		note = self.insert_note(content="after approval")
		self.addCleanup(delete_local, "ToDo", note["name"])
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", note["name"], "description"), "after approval")


class TestInnerMapping(MappingTestCase):
	"""The original's test_inner_mapping: a "Document" row creates the Role a ToDo links to."""

	mappings = [
		{
			"name": "Role to Note Dependency Creation",
			"local_doctype": "Role",
			"remote_doctype": "Note",
			"rows": [{"local_fieldname": "role_name", "remote_fieldname": "title"}],
		},
		{
			"name": "ToDo to Note Mapping",
			"local_doctype": "ToDo",
			"remote_doctype": "Note",
			"rows": [
				{"local_fieldname": "description", "remote_fieldname": "content"},
				{
					"local_fieldname": "role",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"mapping": "Role to Note Dependency Creation",
					"remote_value_filters": '{"title": "title"}',
				},
			],
		},
	]
	subscribe = [
		{"ref_doctype": "ToDo", "has_mapping": 1, "mapping": "ToDo to Note Mapping", "use_same_name": 1}
	]

	def insert_titled_note(self, title: str, content: str) -> dict:
		note = self.insert_note(title=title, content=content)
		self.addCleanup(delete_local, "ToDo", note["name"])
		return note

	def track_role(self, role: str) -> None:
		self.addCleanup(delete_local, "Role", role)

	def test_document_row_creates_the_linked_role_once(self):
		title = unique("Mapped Role")
		self.track_role(title)
		note = self.insert_titled_note(title, "inner content")
		pull_all()

		self.assertEqual(frappe.db.get_value("Role", title, "role_name"), title)
		todo = frappe.db.get_value("ToDo", note["name"], ["description", "role"], as_dict=True)
		self.assertEqual(todo.description, "inner content")
		self.assertEqual(todo.role, title)

		self.producer.update("Note", note["name"], {"content": "inner content 2"})
		pull_all()
		self.assertEqual(frappe.db.count("Role", {"role_name": title}), 1)
		todo = frappe.db.get_value("ToDo", note["name"], ["description", "role"], as_dict=True)
		self.assertEqual(todo.description, "inner content 2")
		self.assertEqual(todo.role, title)

	def test_existing_local_copy_is_reused(self):
		"""A second Note with the same title links the Role made for the first one."""
		title = unique("Shared Role")
		self.track_role(title)
		first = self.insert_titled_note(title, "first")
		second = self.insert_titled_note(title, "second")
		pull_all()
		self.assertEqual(frappe.db.count("Role", {"role_name": title}), 1)
		self.assertEqual(frappe.db.get_value("ToDo", first["name"], "role"), title)
		self.assertEqual(frappe.db.get_value("ToDo", second["name"], "role"), title)

	def test_changed_title_links_the_matching_role(self):
		"""An Update that changes the remote field of a Document row resolves the link again."""
		title, renamed = unique("Before Role"), unique("After Role")
		self.track_role(title)
		self.track_role(renamed)
		note = self.insert_titled_note(title, "content")
		pull_all()
		self.producer.update("Note", note["name"], {"title": renamed})
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", note["name"], "role"), renamed)
		self.assertEqual(frappe.db.count("Role", {"role_name": renamed}), 1)
		self.assertEqual(frappe.db.count("Role", {"role_name": title}), 1)


class TestNestedMapping(MappingTestCase):
	"""Document rows inside the mapping of a Document row: Note -> ToDo -> Role -> Domain."""

	mappings = [
		{
			"name": "Test Domain from Note",
			"local_doctype": "Domain",
			"remote_doctype": "Note",
			"rows": [{"local_fieldname": "domain", "remote_fieldname": "title"}],
		},
		{
			"name": "Test Role with Domain from Note",
			"local_doctype": "Role",
			"remote_doctype": "Note",
			"rows": [
				{"local_fieldname": "role_name", "remote_fieldname": "title"},
				{
					"local_fieldname": "restrict_to_domain",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"mapping": "Test Domain from Note",
					"remote_value_filters": '{"title": "title"}',
				},
			],
		},
		{
			"name": "Test ToDo with Role from Note",
			"local_doctype": "ToDo",
			"remote_doctype": "Note",
			"rows": [
				{"local_fieldname": "description", "remote_fieldname": "content"},
				{
					"local_fieldname": "role",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"mapping": "Test Role with Domain from Note",
					"remote_value_filters": '{"name": "eval:doc.name", "public": 0}',
				},
			],
		},
	]
	subscribe = [
		{
			"ref_doctype": "ToDo",
			"has_mapping": 1,
			"mapping": "Test ToDo with Role from Note",
			"use_same_name": 1,
		}
	]

	def test_dependencies_of_dependencies_are_created(self):
		title = unique("Nested")
		self.addCleanup(delete_local, "Domain", title)
		self.addCleanup(delete_local, "Role", title)
		note = self.insert_note(title=title, content="nested")
		self.addCleanup(delete_local, "ToDo", note["name"])
		pull_all()
		self.assertTrue(frappe.db.exists("Domain", title))
		self.assertEqual(frappe.db.get_value("Role", title, "restrict_to_domain"), title)
		self.assertEqual(
			frappe.db.get_value("ToDo", note["name"], ["description", "role"]), ("nested", title)
		)

	def test_no_remote_match_fails_the_log_with_a_clear_message(self):
		"""The filters ask for a non-public Note: a public one cannot be linked, so its log fails."""
		note = self.insert_note(content="public", public=1)
		self.addCleanup(delete_local, "ToDo", note["name"])
		pull_all()
		self.assertFalse(frappe.db.exists("ToDo", note["name"]))
		failed = sync_logs(note["name"], "Create")
		self.assertEqual(failed[0]["status"], "Failed")
		self.assertIn("No Note on the producer matches", failed[0]["error"])


class TestChildTableMapping(MappingTestCase):
	"""Note (seen_by: Note Seen By.user) into a consumer-only DocType whose table rows differ."""

	mappings = [
		{
			"name": "ES Reader from Note Seen By",
			"local_doctype": READER_DOCTYPE,
			"remote_doctype": "Note Seen By",
			"rows": [
				{"local_fieldname": "reader", "remote_fieldname": "user", "default_value": "Administrator"},
				{"local_fieldname": "reader_copy", "remote_fieldname": "user"},
				{"local_fieldname": "via", "default_value": "note"},
			],
		},
		{
			"name": "ES Mapped Note from Note",
			"local_doctype": MAPPED_NOTE_DOCTYPE,
			"remote_doctype": "Note",
			"rows": [
				{"local_fieldname": "heading", "remote_fieldname": "title"},
				{"local_fieldname": "body", "remote_fieldname": "content"},
				{"local_fieldname": "origin", "default_value": "producer"},
				{
					"local_fieldname": "readers",
					"remote_fieldname": "seen_by",
					"mapping_type": "Child Table",
					"mapping": "ES Reader from Note Seen By",
				},
			],
		},
	]
	subscribe = [
		{
			"ref_doctype": MAPPED_NOTE_DOCTYPE,
			"has_mapping": 1,
			"mapping": "ES Mapped Note from Note",
			"use_same_name": 1,
		}
	]

	@classmethod
	def make_fixtures(cls):
		cls.remove_fixtures()
		frappe.get_doc(
			{
				"doctype": "DocType",
				"name": READER_DOCTYPE,
				"module": "Custom",
				"custom": 1,
				"istable": 1,
				"fields": [
					{"fieldname": "reader", "fieldtype": "Link", "options": "User", "label": "Reader"},
					{"fieldname": "reader_copy", "fieldtype": "Data", "label": "Reader Copy"},
					{"fieldname": "via", "fieldtype": "Data", "label": "Via"},
				],
			}
		).insert()
		frappe.get_doc(
			{
				"doctype": "DocType",
				"name": MAPPED_NOTE_DOCTYPE,
				"module": "Custom",
				"custom": 1,
				"autoname": "hash",
				"fields": [
					{"fieldname": "heading", "fieldtype": "Data", "label": "Heading", "reqd": 1},
					{"fieldname": "body", "fieldtype": "Text Editor", "label": "Body"},
					{"fieldname": "origin", "fieldtype": "Data", "label": "Origin"},
					{
						"fieldname": "readers",
						"fieldtype": "Table",
						"options": READER_DOCTYPE,
						"label": "Readers",
					},
				],
				"permissions": [{"role": "System Manager", "read": 1, "write": 1, "create": 1, "delete": 1}],
			}
		).insert()
		frappe.db.commit()

	@classmethod
	def remove_fixtures(cls):
		for doctype in (MAPPED_NOTE_DOCTYPE, READER_DOCTYPE):
			if frappe.db.exists("DocType", doctype):
				frappe.delete_doc("DocType", doctype, force=True, ignore_permissions=True)
		frappe.db.commit()

	def make_user(self, label: str) -> str:
		"""A User on the producer only; the first pull that needs it brings it here."""
		email = f"{frappe.scrub(unique(label))}@mapping.example.com"
		self.producer.insert(
			{"doctype": "User", "email": email, "first_name": label, "send_welcome_email": 0}
		)
		self.addCleanup(self.producer.delete_if_exists, "User", email)
		self.addCleanup(delete_local, "User", email)
		return email

	def readers(self, name: str) -> list[tuple]:
		doc = frappe.get_doc(MAPPED_NOTE_DOCTYPE, name)
		return [(row.reader, row.reader_copy or None, row.via) for row in doc.readers]

	def remote_rows(self, name: str) -> list[dict]:
		return [
			{"name": row["name"], "user": row.get("user")}
			for row in self.producer.get("Note", name)["seen_by"]
		]

	def test_child_table_create_row_add_change_remove_and_delete(self):
		users = [self.make_user(f"reader {index}") for index in range(3)]
		note = self.insert_note(content="rows", seen_by=[{"user": users[0]}, {}])
		self.addCleanup(delete_local, MAPPED_NOTE_DOCTYPE, note["name"])
		pull_all()

		local = frappe.get_doc(MAPPED_NOTE_DOCTYPE, note["name"])
		self.assertEqual((local.heading, local.body, local.origin), (note["title"], "rows", "producer"))
		# an empty remote user takes the row default; the copy of the same remote field stays empty
		self.assertEqual(
			self.readers(note["name"]), [(users[0], users[0], "note"), ("Administrator", None, "note")]
		)
		self.assertEqual(
			[row.name for row in local.readers], [row["name"] for row in self.remote_rows(note["name"])]
		)

		# row added
		rows = self.remote_rows(note["name"])
		self.producer.update("Note", note["name"], {"seen_by": [*rows, {"user": users[2]}]})
		pull_all()
		self.assertEqual(
			self.readers(note["name"]),
			[(users[0], users[0], "note"), ("Administrator", None, "note"), (users[2], users[2], "note")],
		)

		# row changed: both local fields that read the remote user follow
		rows = self.remote_rows(note["name"])
		rows[1]["user"] = users[1]
		self.producer.update("Note", note["name"], {"seen_by": rows})
		pull_all()
		self.assertEqual(
			self.readers(note["name"]),
			[(users[0], users[0], "note"), (users[1], users[1], "note"), (users[2], users[2], "note")],
		)

		# row removed
		rows = self.remote_rows(note["name"])
		removed = rows.pop(0)
		self.producer.update("Note", note["name"], {"seen_by": rows})
		pull_all()
		self.assertEqual(
			self.readers(note["name"]), [(users[1], users[1], "note"), (users[2], users[2], "note")]
		)
		self.assertFalse(frappe.db.exists(READER_DOCTYPE, removed["name"]))

		self.producer.update("Note", note["name"], {"title": "renamed heading", "content": "new body"})
		pull_all()
		local = frappe.get_doc(MAPPED_NOTE_DOCTYPE, note["name"])
		self.assertEqual(
			(local.heading, local.body, local.origin), ("renamed heading", "new body", "producer")
		)

		self.producer.delete("Note", note["name"])
		pull_all()
		self.assertFalse(frappe.db.exists(MAPPED_NOTE_DOCTYPE, note["name"]))
		self.assertFalse(frappe.db.exists(READER_DOCTYPE, {"parent": note["name"]}))


class TestMappingValidation(FrappeTestCase):
	"""A mapping that cannot work is refused on save, with a message that says which row and why."""

	def setUp(self):
		frappe.set_user("Administrator")
		self.inner = make_mapping(
			"Test Role from Note",
			"Role",
			"Note",
			[{"local_fieldname": "role_name", "remote_fieldname": "title"}],
		)
		self.addCleanup(delete_mapping, "Test Role from Note")

	def refuse(self, rows: list[dict], message: str, local_doctype: str = "ToDo"):
		doc = frappe.get_doc(
			{
				"doctype": "Document Type Mapping",
				"mapping_name": unique("Refused mapping"),
				"local_doctype": local_doctype,
				"remote_doctype": "Note",
				"field_mapping": rows,
			}
		)
		with self.assertRaisesRegex(mapping.MappingError, message):
			doc.insert()
		frappe.clear_messages()

	def test_missing_local_field_is_refused(self):
		self.refuse(
			[{"local_fieldname": "no_such_field", "remote_fieldname": "title"}],
			"no_such_field.*is not a field",
		)

	def test_standard_columns_are_accepted(self):
		"""The original crashed when the first row named a standard column (W-C14)."""
		name = unique("Standard columns")
		make_mapping(
			name,
			"ToDo",
			"Note",
			[
				{"local_fieldname": "owner", "remote_fieldname": "owner"},
				{"local_fieldname": "description", "remote_fieldname": "content"},
				{"local_fieldname": "name", "remote_fieldname": "name"},
			],
		)
		self.addCleanup(delete_mapping, name)
		self.assertTrue(frappe.db.exists("Document Type Mapping", name))

	def test_link_without_mapping_or_default_is_refused(self):
		self.refuse([{"local_fieldname": "allocated_to", "remote_fieldname": "owner"}], "allocated_to.*Link")

	def test_link_with_a_default_is_accepted(self):
		name = unique("Link default")
		make_mapping(
			name, "ToDo", "Note", [{"local_fieldname": "allocated_to", "default_value": "Administrator"}]
		)
		self.addCleanup(delete_mapping, name)

	def test_dynamic_link_without_mapping_or_default_is_refused(self):
		self.refuse(
			[{"local_fieldname": "reference_name", "remote_fieldname": "name"}],
			"reference_name.*Dynamic Link",
		)

	def test_table_without_mapping_is_refused(self):
		self.refuse([{"local_fieldname": "seen_by", "remote_fieldname": "seen_by"}], "seen_by.*Table", "Note")

	def test_document_row_without_filters_is_refused(self):
		self.refuse(
			[
				{
					"local_fieldname": "role",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"mapping": self.inner.name,
				}
			],
			"needs Remote Value Filters",
		)

	def test_invalid_filters_json_is_refused(self):
		for filters in ('{"title": title}', '["title"]'):
			self.refuse(
				[
					{
						"local_fieldname": "role",
						"remote_fieldname": "title",
						"mapping_type": "Document",
						"mapping": self.inner.name,
						"remote_value_filters": filters,
					}
				],
				"must be a JSON object",
			)

	def test_document_row_without_mapping_is_refused(self):
		self.refuse(
			[
				{
					"local_fieldname": "role",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"remote_value_filters": '{"title": "title"}',
				}
			],
			"Document row needs a Mapping",
		)

	def test_child_table_row_without_mapping_is_refused(self):
		self.refuse(
			[{"local_fieldname": "seen_by", "remote_fieldname": "seen_by", "mapping_type": "Child Table"}],
			"Child Table row needs a Mapping",
			"Note",
		)

	def test_document_row_whose_mapping_makes_another_doctype_is_refused(self):
		self.refuse(
			[
				{
					"local_fieldname": "allocated_to",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"mapping": self.inner.name,
					"remote_value_filters": '{"title": "title"}',
				}
			],
			"links to.*User.*creates.*Role",
		)

	def test_child_table_row_on_a_field_that_is_no_table_is_refused(self):
		self.refuse(
			[
				{
					"local_fieldname": "description",
					"remote_fieldname": "seen_by",
					"mapping_type": "Child Table",
					"mapping": self.inner.name,
				}
			],
			"is not a table",
		)

	def test_valid_inner_mapping_is_accepted(self):
		name = unique("Valid outer")
		make_mapping(
			name,
			"ToDo",
			"Note",
			[
				{"local_fieldname": "description", "remote_fieldname": "content"},
				{
					"local_fieldname": "role",
					"remote_fieldname": "title",
					"mapping_type": "Document",
					"mapping": self.inner.name,
					"remote_value_filters": '{"title": "title", "public": "eval:1 if doc.public else 0"}',
				},
			],
		)
		self.addCleanup(delete_mapping, name)


class FakeApplier:
	"""Enough of apply.Applier for rows that never need the producer."""

	class producer:
		name = PRODUCER_URL

	peer = None
	resolver = None


class TestMapRowWithoutProducer(FrappeTestCase):
	"""Delete and rename rows only change DocType; filter expressions run in safe_eval."""

	def setUp(self):
		frappe.set_user("Administrator")
		make_mapping(
			"Test ToDo from Note",
			"ToDo",
			"Note",
			[{"local_fieldname": "description", "remote_fieldname": "content"}],
		)
		self.addCleanup(delete_mapping, "Test ToDo from Note")

	def map(self, row: dict) -> dict:
		return mapping.map_row(row, "Test ToDo from Note", FakeApplier())

	def test_delete_keeps_the_name_and_names_the_local_doctype(self):
		row = {"update_type": "Delete", "ref_doctype": "Note", "docname": "n1", "data": None, "name": "log"}
		self.assertEqual(self.map(row), dict(row, ref_doctype="ToDo"))

	def test_rename_passes_through(self):
		data = {"changed": {}, "rename": {"old_name": "a", "new_name": "b", "merge": False}}
		row = {"update_type": "Update", "ref_doctype": "Note", "docname": "a", "data": data, "name": "log"}
		self.assertEqual(self.map(row), dict(row, ref_doctype="ToDo"))

	def test_create_and_update_use_local_fieldnames(self):
		create = {
			"update_type": "Create",
			"ref_doctype": "Note",
			"docname": "n1",
			"data": {"name": "n1", "content": "c", "title": "t", "seen_by": []},
			"name": "log",
		}
		mapped = self.map(create)
		self.assertEqual(mapped["ref_doctype"], "ToDo")
		self.assertEqual(mapped["data"], {"name": "n1", "description": "c", "title": "t", "doctype": "ToDo"})
		update = dict(
			create,
			update_type="Update",
			data={"changed": {"content": "d"}, "added": {}, "removed": {}, "row_changed": {}},
		)
		self.assertEqual(
			self.map(update)["data"],
			{"changed": {"description": "d"}, "added": {}, "removed": {}, "row_changed": {}},
		)

	def test_uncovered_table_in_a_diff_is_a_validation_error(self):
		data = {
			"changed": {},
			"added": {"seen_by": [{"name": "r1", "user": "Administrator"}]},
			"removed": {},
			"row_changed": {},
		}
		row = {"update_type": "Update", "ref_doctype": "Note", "docname": "n1", "data": data, "name": "log"}
		with self.assertRaisesRegex(frappe.ValidationError, "seen_by"):
			self.map(row)
		frappe.clear_messages()

	def test_eval_filter_runs_in_safe_eval_with_the_remote_document(self):
		self.assertEqual(mapping.evaluate_expression("doc.title.upper()", {"title": "abc"}), "ABC")
		self.assertEqual(
			mapping.evaluate_expression("frappe.db.get_value('User', 'Administrator', 'name')", {}),
			"Administrator",
		)
		with self.assertRaises(mapping.MappingError):
			mapping.evaluate_expression("__import__('os')", {})
		frappe.clear_messages()
