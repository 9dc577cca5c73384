# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The original app's scenarios, run over real HTTP between two sites, plus the lifecycle cases
it never covered (child rows, naming, deletes of locally named copies)."""

import frappe

from event_streaming.tests.utils import PRODUCER_URL, TwoSiteTestCase, pull_all, unique


class TestReplication(TwoSiteTestCase):
	def test_insert_on_producer_creates_same_named_copy(self):
		"""A ToDo inserted on the producer arrives under the same name after one pull."""
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("insert")})
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", todo["name"], "description"), todo["description"])

	def test_update_on_producer_is_applied(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("before")})
		pull_all()
		changed = unique("after")
		self.producer.update("ToDo", todo["name"], {"description": changed, "priority": "High"})
		pull_all()
		local = frappe.db.get_value("ToDo", todo["name"], ["description", "priority"], as_dict=True)
		self.assertEqual(local.description, changed)
		self.assertEqual(local.priority, "High")

	def test_delete_on_producer_removes_copy(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("delete")})
		pull_all()
		self.assertTrue(frappe.db.exists("ToDo", todo["name"]))
		self.producer.delete("ToDo", todo["name"])
		pull_all()
		self.assertFalse(frappe.db.exists("ToDo", todo["name"]))

	def test_multiple_doctypes_in_one_pull(self):
		"""Inserts, updates and a delete of two DocTypes, all applied by a single pull."""
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("multi")})
		note1 = self.producer.insert({"doctype": "Note", "title": unique("note1"), "content": "one"})
		note2 = self.producer.insert({"doctype": "Note", "title": unique("note2"), "content": "two"})
		self.producer.update("ToDo", todo["name"], {"description": "multi updated"})
		self.producer.update("Note", note1["name"], {"content": "one updated"})
		self.producer.delete("Note", note2["name"])
		pull_all()
		self.assertEqual(frappe.db.get_value("ToDo", todo["name"], "description"), "multi updated")
		self.assertEqual(frappe.db.get_value("Note", note1["name"], "content"), "one updated")
		self.assertFalse(frappe.db.exists("Note", note2["name"]))

	def test_update_then_delete_in_one_pull_deletes(self):
		"""The original loses a Delete served in the same pull as the Update before it (W-C2)."""
		note = self.producer.insert({"doctype": "Note", "title": unique("w-c2"), "content": "a"})
		pull_all()
		self.producer.update("Note", note["name"], {"content": "b"})
		self.producer.delete("Note", note["name"])
		pull_all()
		self.assertFalse(frappe.db.exists("Note", note["name"]))

	def test_child_rows_added_changed_removed_and_reordered(self):
		"""Note.seen_by rows: add two, then change one, remove one, add one and reorder."""
		users = [self.make_producer_user(unique("row")) for _ in range(3)]
		note = self.producer.insert(
			{
				"doctype": "Note",
				"title": unique("rows"),
				"seen_by": [{"user": users[0]}, {"user": users[1]}],
			}
		)
		pull_all()
		self.assertEqual(self.local_seen_by(note["name"]), [users[0], users[1]])

		remote = self.producer.get("Note", note["name"])
		first, second = remote["seen_by"]
		remote["seen_by"] = [
			{"name": second["name"], "user": users[2]},
			{"user": users[0]},
		]
		self.producer.update("Note", note["name"], {"seen_by": remote["seen_by"]})
		pull_all()
		expected = [row["user"] for row in self.producer.get("Note", note["name"])["seen_by"]]
		self.assertEqual(self.local_seen_by(note["name"]), expected)
		self.assertEqual(expected, [users[2], users[0]])
		self.assertFalse(frappe.db.exists("Note Seen By", first["name"]))

	def test_link_dependency_is_fetched_first(self):
		"""A Note whose row links a User missing here brings the User along (without roles)."""
		user = self.make_producer_user(unique("dep"), roles=["System Manager"])
		note = self.producer.insert(
			{"doctype": "Note", "title": unique("dep note"), "seen_by": [{"user": user}]}
		)
		pull_all()
		self.assertTrue(frappe.db.exists("User", user))
		self.assertEqual(self.local_seen_by(note["name"]), [user])
		self.assertNotIn("System Manager", frappe.get_roles(user))

	def test_dynamic_link_target_is_fetched(self):
		"""A ToDo referring to a Note by Dynamic Link brings the Note, in one batched request."""
		note = self.producer.insert({"doctype": "Note", "title": unique("dynamic"), "content": "target"})
		frappe.db.set_value(
			"Event Producer Document Type", {"parent": PRODUCER_URL, "ref_doctype": "Note"}, "unsubscribe", 1
		)
		frappe.db.commit()
		try:
			todo = self.producer.insert(
				{
					"doctype": "ToDo",
					"description": unique("dynamic"),
					"reference_type": "Note",
					"reference_name": note["name"],
				}
			)
			pull_all()
		finally:
			frappe.db.set_value(
				"Event Producer Document Type",
				{"parent": PRODUCER_URL, "ref_doctype": "Note"},
				"unsubscribe",
				0,
			)
			frappe.db.commit()
		self.assertEqual(frappe.db.get_value("Note", note["name"], "content"), "target")
		self.assertEqual(frappe.db.get_value("ToDo", todo["name"], "reference_name"), note["name"])

	def test_update_of_a_document_missing_here_brings_its_current_version(self):
		"""A document that predates the subscription (or was lost) is fetched whole on its next update."""
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("missing")})
		pull_all()
		frappe.db.delete("ToDo", {"name": todo["name"]})
		frappe.db.commit()
		self.producer.update("ToDo", todo["name"], {"priority": "High"})
		pull_all()
		local = frappe.db.get_value("ToDo", todo["name"], ["description", "priority"], as_dict=True)
		self.assertEqual((local.description, local.priority), (todo["description"], "High"))

	def test_event_sync_log_records_each_applied_log(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("sync log")})
		pull_all()
		log = frappe.get_all(
			"Event Sync Log",
			filters={"event_producer": PRODUCER_URL, "producer_doc": todo["name"]},
			fields=["status", "update_type", "docname", "update_log"],
		)
		self.assertEqual(len(log), 1)
		self.assertEqual(log[0].status, "Synced")
		self.assertEqual(log[0].update_type, "Create")
		self.assertEqual(log[0].docname, todo["name"])
		self.assertTrue(log[0].update_log)

	def test_update_log_written_on_producer(self):
		todo = self.producer.insert({"doctype": "ToDo", "description": unique("update log")})
		logs = self.producer.get_list(
			"Event Update Log", filters={"docname": todo["name"]}, fields=["update_type", "ref_doctype"]
		)
		self.assertEqual(logs, [{"update_type": "Create", "ref_doctype": "ToDo"}])

	def test_pull_twice_applies_nothing_new(self):
		self.producer.insert({"doctype": "ToDo", "description": unique("once")})
		pull_all()
		self.assertEqual(pull_all(), 0)

	def make_producer_user(self, label: str, roles: list[str] | None = None) -> str:
		email = f"{frappe.scrub(label)}@sync.example.com"
		self.producer.insert(
			{
				"doctype": "User",
				"email": email,
				"first_name": label,
				"send_welcome_email": 0,
				"roles": [{"role": role} for role in roles or []],
			}
		)
		return email

	def local_seen_by(self, note: str) -> list[str]:
		return [row.user for row in frappe.get_doc("Note", note).seen_by]
