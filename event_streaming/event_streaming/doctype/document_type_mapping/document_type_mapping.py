# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from event_streaming.streaming import field_mapping, mapping

LINK_TYPES = ("Link", "Dynamic Link")
FILTERS_EXAMPLE = '{"title": "title"}'


class DocumentTypeMapping(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from event_streaming.event_streaming.doctype.document_type_field_mapping.document_type_field_mapping import (
			DocumentTypeFieldMapping,
		)

		field_mapping: DF.Table[DocumentTypeFieldMapping]
		local_doctype: DF.Link
		mapping_name: DF.Data
		remote_doctype: DF.Data
	# end: auto-generated types

	def validate(self):
		self.validate_field_mapping()

	def validate_field_mapping(self):
		meta = frappe.get_meta(self.local_doctype)
		for row in self.field_mapping:
			self.validate_row_type(row)
			df = self.validate_local_field(row, meta)
			if df:
				self.validate_row_target(row, df)

	def validate_row_type(self, row):
		"""Child Table and Document rows need a mapping; Document rows also need valid filters."""
		if row.mapping_type and not row.mapping:
			throw_invalid(
				_("Field Mapping row {0}: a {1} row needs a Mapping.").format(row.idx, _(row.mapping_type))
			)
		if row.mapping_type != field_mapping.DOCUMENT:
			return
		if not (row.remote_value_filters or "").strip():
			throw_invalid(
				_(
					"Field Mapping row {0}: a Document row needs Remote Value Filters that find the remote document, such as {1}."
				).format(row.idx, FILTERS_EXAMPLE)
			)
		try:
			field_mapping.parse_filters(row.remote_value_filters)
		except field_mapping.MappingRuleError:
			throw_invalid(
				_(
					"Field Mapping row {0}: Remote Value Filters must be a JSON object of remote fieldname to value, such as {1}."
				).format(row.idx, FILTERS_EXAMPLE)
			)

	def validate_local_field(self, row, meta):
		"""The local field must exist; standard columns (name, owner, ...) have no DocField but are fine."""
		fieldname = (row.local_fieldname or "").strip()
		if fieldname in mapping.STANDARD_COLUMNS:
			return None
		df = meta.get_field(fieldname)
		if not df:
			throw_invalid(
				_("Field Mapping row {0}: {1} is not a field of {2}.").format(
					row.idx, frappe.bold(fieldname), frappe.bold(self.local_doctype)
				)
			)
		return df

	def validate_row_target(self, row, df):
		"""Links and tables cannot take a remote value as it is: they need a mapping or a default."""
		if (df.fieldtype in LINK_TYPES or df.fieldtype in frappe.model.table_fields) and not (
			row.mapping or row.default_value
		):
			throw_invalid(
				_(
					"Field Mapping row {0}: {1} is a {2} field; set a Mapping (Mapping Type Document or Child Table) or a Default Value."
				).format(row.idx, frappe.bold(df.fieldname), _(df.fieldtype))
			)
		if not row.mapping_type or not row.mapping:
			return
		inner_doctype = frappe.db.get_value("Document Type Mapping", row.mapping, "local_doctype")
		if row.mapping_type == field_mapping.CHILD_TABLE:
			if df.fieldtype not in frappe.model.table_fields:
				throw_invalid(
					_("Field Mapping row {0}: {1} is not a table, so it cannot be a Child Table row.").format(
						row.idx, frappe.bold(df.fieldname)
					)
				)
			if inner_doctype != df.options:
				throw_invalid(
					_("Field Mapping row {0}: the rows of {1} are {2}, but mapping {3} creates {4}.").format(
						row.idx,
						frappe.bold(df.fieldname),
						frappe.bold(df.options),
						frappe.bold(row.mapping),
						frappe.bold(inner_doctype),
					)
				)
		if (
			row.mapping_type == field_mapping.DOCUMENT
			and df.fieldtype == "Link"
			and inner_doctype != df.options
		):
			throw_invalid(
				_("Field Mapping row {0}: {1} links to {2}, but mapping {3} creates {4}.").format(
					row.idx,
					frappe.bold(df.fieldname),
					frappe.bold(df.options),
					frappe.bold(row.mapping),
					frappe.bold(inner_doctype),
				)
			)

	@frappe.whitelist()
	def get_remote_fields(self) -> list[dict]:
		"""The remote DocType's fields, read from the producer that uses this mapping, to pick from."""
		self.check_permission("read")
		return mapping.remote_fields(self.name)


def throw_invalid(message: str):
	frappe.throw(message, exc=mapping.MappingError, title=_("Invalid Document Type Mapping"))
