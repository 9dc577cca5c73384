# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import escape_html

from event_streaming.streaming import capture, conditions, registration

# written only by this site (notify, acknowledge), with db.set_value, never through a save
DELIVERY_FIELDS = (
	"last_acked_sequence",
	"last_notified_at",
	"notify_failures",
	"next_notify_at",
	"last_notify_error",
)


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
		last_notify_error: DF.Code | None
		next_notify_at: DF.Datetime | None
		notify_failures: DF.Int
		user: DF.Link
	# end: auto-generated types

	def validate(self):
		before = self.get_doc_before_save()
		if before:
			self.keep_protected_fields(before)
		previous = {row.ref_doctype: row.condition for row in (before.consumer_doctypes if before else [])}
		for row in self.consumer_doctypes:
			# rows approved earlier stay valid even if the site changed since (a DocType removed)
			if row.ref_doctype not in previous:
				registration.check_streamable(row.ref_doctype)
			if row.ref_doctype not in previous or previous[row.ref_doctype] != row.condition:
				conditions.validate_condition(row.condition)
		if self.is_new() or self.incoming_change or self.saved_by_its_subscriber(before):
			self.guard_statuses()
		if not self.incoming_change:
			self.warn_about_shared_user()

	def before_insert(self):
		self.check_new_consumer()

	def onload(self):
		self.set_onload("consumers_sharing_user", self.consumers_sharing_user())

	def check_new_consumer(self):
		"""Consumers are made by registration (which checks who may register). A System Manager may
		still insert one directly, as with the original app."""
		if not self.flags.registration and not registration.is_system_manager():
			frappe.throw(
				_("An Event Consumer is created by the consumer site subscribing to this site."),
				frappe.PermissionError,
			)
		self.callback_url = registration.check_callback_url(self.callback_url)

	def keep_protected_fields(self, before):
		"""What a save may not change: the consumer's address (its name), who owns it, the
		delivery status (written by this site only) and, except for a System Manager, its user.
		Child rows of other consumers cannot be pulled in by naming them."""
		self.callback_url = before.callback_url
		self.owner = before.owner
		for fieldname in DELIVERY_FIELDS:
			self.set(fieldname, before.get(fieldname))
		if self.user != before.user and not self.flags.registration and not registration.is_system_manager():
			frappe.throw(
				_("Only a System Manager may change the Event Subscriber of a consumer."),
				frappe.PermissionError,
			)
		known_rows = {row.name for row in before.consumer_doctypes}
		for row in self.consumer_doctypes:
			if row.name not in known_rows:
				row.name = None
				row.set("__islocal", 1)

	def saved_by_its_subscriber(self, before) -> bool:
		"""The consumer's own user never decides its approvals. A System Manager who is also the
		consumer's user could approve through Settings anyway, so a Desk save by them counts as
		the producer's (Administrator on both sites is a common setup)."""
		user = before.user if before else self.user
		return frappe.session.user == user and not registration.is_system_manager()

	def consumers_sharing_user(self) -> list[str]:
		if not self.user:
			return []
		return frappe.get_all(
			"Event Consumer",
			filters={"user": self.user, "name": ("!=", self.name or "")},
			pluck="name",
		)

	def warn_about_shared_user(self):
		others = self.consumers_sharing_user()
		if others:
			frappe.msgprint(
				_(
					"The Event Subscriber {0} is also the user of {1}. Consumers that share a user on this "
					"site can read each other's feed; give each consumer its own user."
				).format(
					frappe.bold(escape_html(self.user)),
					", ".join(frappe.bold(escape_html(name)) for name in others),
				),
				title=_("Shared Event Subscriber"),
				indicator="orange",
			)

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
	"""Called by a consumer site to subscribe; replies with where its feed starts (JSON text).
	Who may call it: a System Manager, or a user with the Event Streaming Subscriber role
	registering itself (see registration.register_consumer)."""
	return registration.register_consumer(data)


# The original app queued these as background jobs (its Event Update Log after_insert, and its retry
# of a failed ping); jobs still queued when the site is upgraded must not fail. Not whitelisted: a
# producer's own jobs, never called over HTTP.
def notify_event_consumers(doctype: str | None = None) -> None:
	"""The original's job path: ping the consumers (coalesced, as every change does here)."""
	from event_streaming.streaming import notify as notifications

	notifications.request_notification()


def notify(consumer=None) -> None:
	"""The original's retry job path (its argument was the Event Consumer document)."""
	from event_streaming.streaming import notify as notifications

	notifications.request_notification()
