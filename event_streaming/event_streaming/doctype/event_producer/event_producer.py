# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.custom.doctype.custom_field.custom_field import create_custom_field
from frappe.model import no_value_fields
from frappe.model.document import Document

from event_streaming.streaming import capture, payload, pull, registration, snapshot, transport

# written by this site's pulls and registration only, never through a form save
SYSTEM_FIELDS = ("protocol_version", "last_pull_at", "replication_lag", "last_pull_error")


class EventProducer(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from event_streaming.event_streaming.doctype.event_producer_document_type.event_producer_document_type import (
			EventProducerDocumentType,
		)

		api_key: DF.Data
		api_secret: DF.Password
		incoming_change: DF.Check
		last_pull_at: DF.Datetime | None
		last_pull_error: DF.Code | None
		producer_doctypes: DF.Table[EventProducerDocumentType]
		producer_url: DF.Data
		protocol_version: DF.Literal["", "v1", "v2"]
		replication_lag: DF.Duration | None
		user: DF.Link
	# end: auto-generated types

	def before_insert(self):
		self.validate_url()  # the URL is the name, which is set before validate runs

	def validate(self):
		self.keep_system_fields()
		self.validate_url()
		self.validate_subscriber()
		self.validate_doctypes()

	def after_insert(self):
		self.register()

	def on_update(self):
		if self.flags.in_insert:
			return
		if self.incoming_change:
			# written by the producer (approval mirroring): nothing to push back
			self.db_set("incoming_change", 0, update_modified=False)
			snapshot.on_approval(self.name, self.newly_approved())
			return
		self.create_custom_fields()
		if self.subscriptions_changed():
			registration.push_now_or_later("subscriptions", self.name)

	def on_trash(self):
		frappe.db.delete("Event Producer Last Update", {"event_producer": self.name})

	def keep_system_fields(self):
		"""Fields this site's pulls write (with set_value, leaving ``modified`` alone) and approvals
		only the producer decides: a save of a form loaded before them never writes them back."""
		before = self.get_doc_before_save()
		if not before:
			return
		for fieldname in SYSTEM_FIELDS:
			self.set(fieldname, before.get(fieldname))
		if self.incoming_change:
			self.keep_all_but_statuses(before)
			return
		# the producer's approval arrives as an incoming change; a local save keeps what it said
		statuses = {row.name: row.status for row in before.producer_doctypes}
		for row in self.producer_doctypes:
			row.status = statuses.get(row.name) or "Pending"

	def keep_all_but_statuses(self, before):
		"""An incoming change is the producer writing here (the original app PUTs this whole
		document with the consumer's keys): it decides the statuses of the rows and nothing else,
		so its user, keys, URL, conditions, mappings and rows stay this site's."""
		incoming = {row.name: row.status for row in self.producer_doctypes}
		for df in self.meta.fields:
			if df.fieldtype not in no_value_fields and df.fieldname != "incoming_change":
				self.set(df.fieldname, before.get(df.fieldname))
		self.set("producer_doctypes", [])
		for row in before.producer_doctypes:
			values = row.as_dict()
			if incoming.get(row.name) in registration.STATUSES:
				values["status"] = incoming[row.name]
			self.append("producer_doctypes", values)

	def validate_url(self):
		try:
			self.producer_url = payload.normalise_site_url(self.producer_url)
		except payload.PayloadError:
			frappe.throw(
				_("Producer URL must be an http or https address such as https://head-office.example.com"),
				title=_("Invalid Producer URL"),
			)
		if self.producer_url == frappe.utils.get_url():
			frappe.throw(_("A site cannot subscribe to itself."), title=_("Invalid Producer URL"))

	def validate_subscriber(self):
		if not frappe.db.get_value("User", self.user, "api_key"):
			frappe.throw(
				_(
					"Generate API keys for the Event Subscriber {0} on this site first (User > Settings > API Access)."
				).format(frappe.bold(self.user)),
				title=_("Event Subscriber Has No API Keys"),
			)

	def validate_doctypes(self):
		seen = set()
		for row in self.producer_doctypes:
			if row.has_mapping and not row.mapping:
				frappe.throw(_("Row {0}: choose a Mapping or untick Has Mapping.").format(row.idx))
			if not row.has_mapping and not capture.is_streamable(row.ref_doctype):
				frappe.throw(
					_("Row {0}: {1} cannot be streamed.").format(row.idx, frappe.bold(row.ref_doctype))
				)
			remote = registration.remote_doctype_of(row)
			if remote in seen:
				frappe.throw(_("Row {0}: {1} is subscribed twice.").format(row.idx, frappe.bold(remote)))
			seen.add(remote)

	def register(self):
		"""Register on the producer. Any failure rolls the whole insert back; saving again retries."""
		try:
			reply = registration.register_on_producer(self)
		except transport.PeerError as error:
			# the producer's words reach a Desk message: shown as text, never as markup
			frappe.throw(frappe.utils.escape_html(str(error)), exc=type(error), title=_("Could Not Register"))
		statuses = reply.get("statuses") or {}
		for row in self.producer_doctypes:
			status = statuses.get(registration.remote_doctype_of(row))
			if status:
				row.db_set("status", status, update_modified=False)
		snapshot.on_approval(self.name, self.newly_approved())
		self.db_set("protocol_version", self.protocol_version, update_modified=False)
		self.db_set("incoming_change", 0, update_modified=False)
		position = frappe.new_doc("Event Producer Last Update")
		if frappe.db.exists("Event Producer Last Update", self.name):
			position = frappe.get_doc("Event Producer Last Update", self.name)
		position.event_producer = self.name
		position.last_update = reply.get("last_update")
		position.last_sequence = int(reply.get("last_sequence") or 0)
		position.save(ignore_permissions=True)
		self.create_custom_fields()

	def newly_approved(self) -> list[str]:
		"""Subscribed DocTypes the producer approved in this save (all approved ones on insert)."""
		before = self.get_doc_before_save()
		earlier = {row.name: row.status for row in before.producer_doctypes} if before else {}
		return [
			row.ref_doctype
			for row in self.producer_doctypes
			if row.status == "Approved" and not row.unsubscribe and earlier.get(row.name) != "Approved"
		]

	def subscriptions_changed(self) -> bool:
		before = self.get_doc_before_save()
		if not before:
			return True
		return registration.subscription_rows(before) != registration.subscription_rows(self)

	def create_custom_fields(self):
		"""Rows that use local naming remember the producer's name in two indexed fields."""
		for row in self.producer_doctypes:
			if row.use_same_name:
				continue
			for fieldname, label in (
				("remote_docname", "Remote Document Name"),
				("remote_site_name", "Remote Site"),
			):
				if not frappe.get_meta(row.ref_doctype).has_field(fieldname):
					create_custom_field(
						row.ref_doctype,
						{
							"fieldname": fieldname,
							"label": label,
							"fieldtype": "Data",
							"read_only": 1,
							"print_hide": 1,
							"search_index": 1,
						},
					)

	@frappe.whitelist(methods=["POST"])
	def pull_now(self) -> str:
		"""The Pull Now button: queue (or join) the background pull and return at once; the form
		hears its progress and outcome in realtime. Who may write this Event Producer."""
		self.check_permission("write")
		pull.request_pull_for_user(self.name)
		return _("Pull requested; its progress appears on this form.")


@frappe.whitelist(methods=["POST"])
def new_event_notification(producer_url: str) -> None:
	"""Called by a producer when it has new logs: queue one pull (coalesced). Only that Event
	Producer's Event Subscriber (whose keys the producer holds) or a System Manager; others learn
	nothing, not even whether the producer is configured. Writes nothing but the job queue."""
	producer_url = (producer_url or "").rstrip("/")
	user = frappe.db.get_value("Event Producer", producer_url, "user")
	if not user or frappe.session.user != user:
		frappe.only_for("System Manager")
	if not user:
		frappe.throw(
			_("No Event Producer is configured for {0}.").format(producer_url), frappe.DoesNotExistError
		)
	pull.request_pull(producer_url)


@frappe.whitelist(methods=["POST"])
def pull_from_node(event_producer: str) -> None:
	"""Pull and apply everything pending from one producer. A System Manager pulls now; the
	producer's own Event Subscriber (in whose name the original app queued this as a job) queues a
	pull, as a notification does. Anyone else needs write access to Event Producers."""
	user = frappe.db.get_value("Event Producer", event_producer, "user")
	if user and frappe.session.user == user and not registration.is_system_manager():
		pull.request_pull(event_producer)
		return
	frappe.has_permission("Event Producer", "write", throw=True)
	pull.pull_now(event_producer)


@frappe.whitelist(methods=["POST"])
def pull_producer_data() -> str:
	"""Pull every producer now. System Manager only."""
	frappe.only_for("System Manager")
	for name in frappe.get_all("Event Producer", pluck="name"):
		pull.pull_now(name)
	return "success"


@frappe.whitelist(methods=["POST"])
def resync(update: dict | str) -> str:
	"""Apply a failed Event Sync Log again (its form's Resync button); returns the new status.
	Who may write Event Sync Logs (System Manager); waits for a running pull of its producer."""
	frappe.has_permission("Event Sync Log", "write", throw=True)
	# the original's form sent the whole Event Sync Log as JSON; a name alone is read as a name
	# (frappe.parse_json would take a hash name such as "12e4" for a number)
	if isinstance(update, str) and update.lstrip().startswith("{"):
		update = frappe.parse_json(update)
	name = update.get("name") if isinstance(update, dict) else update
	if not name or not isinstance(name, str) or not frappe.db.exists("Event Sync Log", name):
		frappe.throw(_("Choose a saved Event Sync Log to resync."))
	return pull.resync(name)
