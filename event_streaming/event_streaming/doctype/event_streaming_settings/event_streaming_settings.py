# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class EventStreamingSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		allow_any_condition_function: DF.Check
		auto_approve: DF.Check
		auto_approve_consumers: DF.SmallText | None
		auto_approve_doctypes: DF.SmallText | None
		feed_page_size: DF.Int
		max_retries: DF.Int
		pull_interval_minutes: DF.Int
		request_timeout: DF.Int
	# end: auto-generated types

	pass
