# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from event_streaming.streaming import field_mapping, mapping

LINK_TYPES = ("Link", "Dynamic Link")
# custom fields this app adds to every DocType synced without use_same_name
AUTO_FIELDS = ("remote_docname", "remote_site_name")
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


@frappe.whitelist(methods=["POST"])
def get_remote_fields_before_save(remote_doctype: str, event_producer: str | None = None) -> list[dict]:
	"""Load Remote Fields on a mapping not saved yet: from the given Event Producer, or the only one.
	Who may create Document Type Mappings and read that Event Producer."""
	frappe.has_permission("Document Type Mapping", "create", throw=True)
	if not event_producer:
		producers = frappe.get_all("Event Producer", pluck="name", limit=2)
		if len(producers) != 1:
			frappe.throw(
				_("Choose the Event Producer to read the fields of {0} from.").format(
					frappe.bold(remote_doctype)
				),
				exc=mapping.MappingError,
			)
		event_producer = producers[0]
	frappe.has_permission("Event Producer", "read", doc=event_producer, throw=True)
	return mapping.remote_fields_of(remote_doctype, event_producer)


@frappe.whitelist()
def propose_field_mapping(local_doctype: str) -> dict:
	"""Rows for the local DocType's fields that save as they are: a Link field gets its default as
	Default Value, or is left out (it needs a Mapping or a default the user chooses), and tables are
	left out (they need a Child Table mapping). Who may create Document Type Mappings."""
	frappe.has_permission("Document Type Mapping", "create", throw=True)
	meta = frappe.get_meta(local_doctype)
	rows, left_out = [], []
	for df in meta.fields:
		if df.fieldtype in frappe.model.no_value_fields and df.fieldtype not in frappe.model.table_fields:
			continue
		if df.hidden or df.fieldname in AUTO_FIELDS:
			continue
		literal_default = df.default and not str(df.default).startswith(("__", ":", "eval:"))
		if df.fieldtype in frappe.model.table_fields or df.fieldtype == "Dynamic Link":
			left_out.append(df.fieldname)
		elif df.fieldtype == "Link" and not literal_default:
			left_out.append(df.fieldname)
		elif df.fieldtype == "Link":
			rows.append({"local_fieldname": df.fieldname, "default_value": df.default})
		else:
			rows.append({"local_fieldname": df.fieldname})
	return {"rows": rows, "left_out": left_out}


def throw_invalid(message: str):
	frappe.throw(message, exc=mapping.MappingError, title=_("Invalid Document Type Mapping"))
