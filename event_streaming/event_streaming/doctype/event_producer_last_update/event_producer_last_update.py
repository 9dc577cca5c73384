# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class EventProducerLastUpdate(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		event_producer: DF.Data
		last_sequence: DF.Int
		last_update: DF.Data | None
		original_watermark: DF.Data | None
	# end: auto-generated types

	pass
