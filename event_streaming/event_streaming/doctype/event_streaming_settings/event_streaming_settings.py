# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

# fieldname: (lowest, highest) accepted value
RANGES = {
	"feed_page_size": (1, 2000),
	"max_retries": (0, 50),
	"pull_interval_minutes": (1, 1440),
	"request_timeout": (1, 300),
	"alert_unreachable_minutes": (0, 525600),
}


class EventStreamingSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		alert_unreachable_minutes: DF.Int
		allow_any_condition_function: DF.Check
		allowed_dependency_doctypes: DF.SmallText | None
		allowed_peer_hosts: DF.SmallText | None
		auto_approve: DF.Check
		auto_approve_consumers: DF.SmallText | None
		auto_approve_doctypes: DF.SmallText | None
		feed_page_size: DF.Int
		initial_sync_on_approval: DF.Check
		max_retries: DF.Int
		pull_interval_minutes: DF.Int
		request_timeout: DF.Int
		sequence_high_water: DF.Int
	# end: auto-generated types

	def validate(self):
		self.keep_sequence_high_water()
		self.validate_ranges()

	def keep_sequence_high_water(self):
		# numbering writes this under its lock; a form loaded earlier must not lower it
		if not self.meta.has_field("sequence_high_water"):
			return  # not migrated yet
		stored = frappe.db.get_single_value(self.doctype, "sequence_high_water", cache=False)
		self.sequence_high_water = max(int(self.get("sequence_high_water") or 0), int(stored or 0))

	def validate_ranges(self):
		for fieldname, (lowest, highest) in RANGES.items():
			if not self.meta.has_field(fieldname):
				continue
			value = self.get(fieldname)
			if value is None or value == "" or not self.has_value_changed(fieldname):
				continue  # empty: the default applies; unchanged: a value saved before this check
			if not lowest <= int(value) <= highest:
				frappe.throw(
					_("{0} must be between {1} and {2}.").format(
						frappe.bold(_(self.meta.get_label(fieldname))), lowest, highest
					),
					title=_("Invalid Setting"),
				)
