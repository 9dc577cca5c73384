# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class EventInitialSync(Document):
	"""One initial sync of a subscribed DocType from a producer (see streaming/snapshot.py)."""

	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		applied: DF.Int
		cancel_requested: DF.Check
		error: DF.Code | None
		event_producer: DF.Link
		failed: DF.Int
		finished_at: DF.Datetime | None
		last_name: DF.Data | None
		processed: DF.Int
		ref_doctype: DF.Link
		remote_doctype: DF.Data | None
		skipped: DF.Int
		started_at: DF.Datetime | None
		status: DF.Literal["Queued", "Running", "Completed", "Failed", "Cancelled"]
		total: DF.Int
	# end: auto-generated types

	@frappe.whitelist(methods=["POST"])
	def cancel_sync(self) -> None:
		"""Stop this run after its current chunk. Who may write it (System Manager)."""
		self.check_permission("write")
		from event_streaming.streaming import snapshot

		snapshot.cancel(self.name)

	@frappe.whitelist(methods=["POST"])
	def resume_sync(self) -> None:
		"""Queue this run again from where it stopped. Who may write it (System Manager)."""
		self.check_permission("write")
		from event_streaming.streaming import snapshot

		snapshot.start(self.event_producer, self.ref_doctype)
