# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class EventConsumerDocumentType(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		condition: DF.Code | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		ref_doctype: DF.Link
		status: DF.Literal["Pending", "Approved", "Rejected"]
		unsubscribed: DF.Check
	# end: auto-generated types

	pass
