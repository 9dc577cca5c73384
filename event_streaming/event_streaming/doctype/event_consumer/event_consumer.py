# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from event_streaming.streaming import capture, conditions, registration


class EventConsumer(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from event_streaming.event_streaming.doctype.event_consumer_document_type.event_consumer_document_type import (
			EventConsumerDocumentType,
		)

		api_key: DF.Data
		api_secret: DF.Password
		callback_url: DF.Data
		consumer_doctypes: DF.Table[EventConsumerDocumentType]
		incoming_change: DF.Check
		last_acked_sequence: DF.Int
		last_notified_at: DF.Datetime | None
		last_notify_error: DF.SmallText | None
		next_notify_at: DF.Datetime | None
		notify_failures: DF.Int
		user: DF.Link
	# end: auto-generated types

	def validate(self):
		self.callback_url = (self.callback_url or "").rstrip("/")
		for row in self.consumer_doctypes:
			conditions.validate_condition(row.condition)
		if self.incoming_change or self.is_new():
			self.guard_statuses()

	def on_update(self):
		capture.clear_streamed_cache()
		if self.incoming_change:
			# written by the consumer itself: nothing to mirror back
			self.db_set("incoming_change", 0, update_modified=False)
			return
		if self.statuses_changed():
			registration.push_now_or_later("status", self.name)

	def on_trash(self):
		capture.clear_streamed_cache()
		frappe.db.delete("Event Update Log Consumer", {"consumer": self.name})

	def guard_statuses(self):
		"""A consumer cannot approve itself: statuses it sends are replaced by ours. A row whose
		condition changed needs approval again; auto-approval applies to pending rows."""
		before = self.get_doc_before_save()
		previous = {row.ref_doctype: row for row in (before.consumer_doctypes if before else [])}
		for row in self.consumer_doctypes:
			old = previous.get(row.ref_doctype)
			unchanged = old is not None and (old.condition or None) == (row.condition or None)
			row.status = old.status if unchanged else "Pending"
			if row.status == "Pending" and registration.auto_approves(self.callback_url, row.ref_doctype):
				row.status = "Approved"

	def statuses_changed(self) -> bool:
		before = self.get_doc_before_save()
		if not before:
			return False
		previous = {row.ref_doctype: row.status for row in before.consumer_doctypes}
		return any(previous.get(row.ref_doctype) != row.status for row in self.consumer_doctypes)


@frappe.whitelist(methods=["POST"])
def register_consumer(data: dict | str) -> str:
	"""Called by a consumer site to subscribe; replies with where its feed starts (JSON text)."""
	if frappe.session.user == "Guest":
		raise frappe.PermissionError
	return registration.register_consumer(data)
