# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


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

	pass
