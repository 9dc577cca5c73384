# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class DocumentTypeFieldMapping(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		default_value: DF.Data | None
		local_fieldname: DF.Data
		mapping: DF.Link | None
		mapping_type: DF.Literal["", "Child Table", "Document"]
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		remote_fieldname: DF.Data | None
		remote_value_filters: DF.Code | None
	# end: auto-generated types

	pass
