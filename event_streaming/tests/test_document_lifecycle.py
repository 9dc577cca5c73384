# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Submit, update after submit, cancel, amend and rename replay through the lifecycle, with child
rows, on a submittable DocType that exists on both sites."""

import frappe

from event_streaming.tests.utils import TwoSiteTestCase, make_event_producer, producer, pull_all, unique

INVOICE = "ES Test Invoice"
INVOICE_ITEM = "ES Test Invoice Item"


def doctype_definitions() -> list[dict]:
	permission = {
		"role": "System Manager",
		**{right: 1 for right in ("read", "write", "create", "delete", "submit", "cancel", "amend")},
	}
	return [
		{
			"doctype": "DocType",
			"name": INVOICE_ITEM,
			"module": "Custom",
			"custom": 1,
			"istable": 1,
			"fields": [
				{"fieldname": "item", "label": "Item", "fieldtype": "Data", "in_list_view": 1},
				{"fieldname": "qty", "label": "Qty", "fieldtype": "Int", "in_list_view": 1},
			],
		},
		{
			"doctype": "DocType",
			"name": INVOICE,
			"module": "Custom",
			"custom": 1,
			"is_submittable": 1,
			"allow_rename": 1,
			"autoname": "field:title",
			"fields": [
				{"fieldname": "title", "label": "Title", "fieldtype": "Data", "reqd": 1, "unique": 1},
				{"fieldname": "amount", "label": "Amount", "fieldtype": "Currency", "allow_on_submit": 1},
				{"fieldname": "items", "label": "Items", "fieldtype": "Table", "options": INVOICE_ITEM},
				{
					"fieldname": "amended_from",
					"label": "Amended From",
					"fieldtype": "Link",
					"options": INVOICE,
					"read_only": 1,
				},
			],
			"permissions": [permission],
		},
	]


def drop_doctypes_locally() -> None:
	for doctype in (INVOICE, INVOICE_ITEM):
		if frappe.db.exists("DocType", doctype):
			frappe.db.delete(doctype)
			frappe.delete_doc("DocType", doctype, force=True)
	frappe.db.commit()


def drop_doctypes_on_producer() -> None:
	for doctype in (INVOICE, INVOICE_ITEM):
		if producer().exists("DocType", doctype) and doctype == INVOICE:
			# newest first: an amendment links the document it amends
			rows = producer().get_list(doctype, fields=["name", "docstatus", "creation"], limit=500)
			for row in sorted(rows, key=lambda row: row["creation"], reverse=True):
				if row["docstatus"] == 1:
					producer().call("frappe.client.cancel", doctype=doctype, name=row["name"])
				producer().delete(doctype, row["name"])
		producer().delete_if_exists("DocType", doctype)


class TestDocumentLifecycle(TwoSiteTestCase):
	subscribe = []

	@classmethod
	def setUpClass(cls):
		drop_doctypes_on_producer()
		drop_doctypes_locally()
		for definition in doctype_definitions():
			producer().insert(definition)
			frappe.get_doc(definition).insert()
		frappe.db.commit()
		cls.subscribe = [{"ref_doctype": INVOICE}]
		super().setUpClass()

	@classmethod
	def tearDownClass(cls):
		super().tearDownClass()
		drop_doctypes_on_producer()
		drop_doctypes_locally()

	def make_invoice(self, **values) -> dict:
		return self.producer.insert(
			{
				"doctype": INVOICE,
				"title": unique("INV"),
				"amount": 100,
				"items": [{"item": "pen", "qty": 2}, {"item": "ink", "qty": 1}],
				**values,
			}
		)

	def test_submit_update_after_submit_and_cancel(self):
		invoice = self.make_invoice()
		pull_all()
		local = frappe.get_doc(INVOICE, invoice["name"])
		self.assertEqual((local.docstatus, [row.item for row in local.items]), (0, ["pen", "ink"]))

		self.producer.call("frappe.client.submit", doc=self.producer.get(INVOICE, invoice["name"]))
		pull_all()
		self.assertEqual(frappe.db.get_value(INVOICE, invoice["name"], "docstatus"), 1)

		self.producer.update(INVOICE, invoice["name"], {"amount": 150})
		pull_all()
		self.assertEqual(frappe.db.get_value(INVOICE, invoice["name"], "amount"), 150)

		self.producer.call("frappe.client.cancel", doctype=INVOICE, name=invoice["name"])
		pull_all()
		self.assertEqual(frappe.db.get_value(INVOICE, invoice["name"], "docstatus"), 2)

	def test_insert_then_submit_in_one_go_arrives_submitted(self):
		invoice = self.make_invoice(docstatus=1)
		pull_all()
		self.assertEqual(frappe.db.get_value(INVOICE, invoice["name"], "docstatus"), 1)

	def test_amended_document_links_its_original(self):
		invoice = self.make_invoice(docstatus=1)
		self.producer.call("frappe.client.cancel", doctype=INVOICE, name=invoice["name"])
		amended = self.make_invoice(title=invoice["name"] + "-1", amended_from=invoice["name"])
		pull_all()
		self.assertEqual(frappe.db.get_value(INVOICE, amended["name"], "amended_from"), invoice["name"])
		self.assertEqual(frappe.db.get_value(INVOICE, invoice["name"], "docstatus"), 2)

	def test_child_rows_follow_edits_of_a_draft(self):
		invoice = self.make_invoice()
		pull_all()
		remote = self.producer.get(INVOICE, invoice["name"])
		pen, ink = remote["items"]
		remote_items = [
			{"name": ink["name"], "item": "ink", "qty": 5, "idx": 1},
			{"item": "paper", "qty": 10, "idx": 2},
		]
		self.producer.update(INVOICE, invoice["name"], {"items": remote_items})
		pull_all()
		local = frappe.get_doc(INVOICE, invoice["name"])
		self.assertEqual([(row.item, row.qty) for row in local.items], [("ink", 5), ("paper", 10)])
		self.assertFalse(frappe.db.exists(INVOICE_ITEM, pen["name"]))

	def test_rename_follows(self):
		invoice = self.make_invoice()
		pull_all()
		new_name = unique("RENAMED")
		self.producer.call(
			"frappe.client.rename_doc", doctype=INVOICE, old_name=invoice["name"], new_name=new_name
		)
		pull_all()
		self.assertFalse(frappe.db.exists(INVOICE, invoice["name"]))
		self.assertTrue(frappe.db.exists(INVOICE, new_name))
		self.producer.update(INVOICE, new_name, {"amount": 7})
		pull_all()
		self.assertEqual(frappe.db.get_value(INVOICE, new_name, "amount"), 7)

	def test_delete_of_a_draft(self):
		invoice = self.make_invoice()
		pull_all()
		self.producer.delete(INVOICE, invoice["name"])
		pull_all()
		self.assertFalse(frappe.db.exists(INVOICE, invoice["name"]))
