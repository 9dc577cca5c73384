# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Fetch the link targets a replicated document needs before it is inserted or saved, and shape
what a producer sends into values this site accepts.

Link, Dynamic Link and child-row links that are missing locally are fetched from the producer in
one request per target DocType (v2 producers) and inserted first under the producer's name,
recursively; a cycle is closed by inserting its last member without link validation. A target
the producer cannot supply fails the log that needed it, and nothing of it is kept (the caller's
savepoint rolls back).

A producer is a stranger: it may create only what this site subscribed to and the link targets
those need, and never privileges. A missing target of a privilege-bearing DocType (``trust``), a
child table, a Single or a framework record is refused; DocTypes whose content this site renders
or sends (letter heads, templates, comments, files, ``trust.OPT_IN_DEPENDENCY_DOCTYPES``) only when
named in Event Streaming Settings > Allowed Dependency DocTypes; when that list is set, only those
(and the subscribed DocTypes) are created. A User created as a link target arrives disabled. Whatever
a peer sends is cut down to the DocType's own fields (see :func:`peer_values`): no bookkeeping
columns, no Password fields, no privilege fields (a User arrives without roles, profiles, keys or
logins), no name of another producer's copy.
"""

from collections.abc import Collection

import frappe
from frappe import _
from frappe.model import no_value_fields, table_fields

from event_streaming.streaming import transport, trust

GET_DOCUMENTS_METHOD = "event_streaming.api.get_documents"
# Framework records every site already has; a missing one is a real error, not a dependency.
NEVER_FETCHED = frozenset({"Workspace", "Language", "Country", "Currency"})
# set by this site for copies kept under a local name: a peer naming them could claim another
# producer's documents
REMOTE_NAME_FIELDS = frozenset({"remote_docname", "remote_site_name"})
NEVER_FROM_PEER_TYPES = frozenset({"Password"})
# columns a peer may send besides a DocType's own fields (docstatus is checked by the caller)
PARENT_COLUMNS = frozenset({"docstatus"})
ROW_COLUMNS = frozenset({"name", "idx"})


class DependencyError(frappe.ValidationError):
	pass


class DocumentAbsent(DependencyError):
	"""The producer answered, but without the document asked for: it no longer has it (or no
	longer lets this site read it)."""


class DependencyRefused(DependencyError):
	"""A producer's change needs a record this site never creates from a peer's data."""


def allowed_dependency_doctypes() -> frozenset[str]:
	"""Event Streaming Settings > Allowed Dependency DocTypes; empty means no allow-list."""
	text = frappe.db.get_single_value("Event Streaming Settings", "allowed_dependency_doctypes") or ""
	return frozenset(line.strip() for line in text.splitlines() if line.strip())


class DependencyResolver:
	"""Resolves dependencies for one log; remembers what it fetched so nothing is fetched twice.

	``subscribed`` are the local DocTypes of the subscriptions: always allowed as targets."""

	def __init__(self, peer: transport.Peer, supports_batch: bool, subscribed: Collection[str] = ()):
		self.peer = peer
		self.supports_batch = supports_batch
		self.subscribed = frozenset(subscribed)
		self.allowed = allowed_dependency_doctypes()
		self.in_progress: set[tuple[str, str]] = set()
		# link targets seen to exist: most logs of a page point at the same few users and masters
		self.known: set[tuple[str, str]] = set()
		# documents this resolver inserted: whatever was looked up about them before is stale
		self.inserted: set[tuple[str, str]] = set()
		self.stored_here: dict[str, bool] = {}

	def ensure(self, values: dict, doctype: str, name: str | None = None) -> None:
		"""Insert every missing link target of ``values`` (a document dict) and of its rows.

		``name`` is the document's own name, so that a target linking back to it is not fetched."""
		if name:
			self.in_progress.add((doctype, name))
		try:
			missing = self.missing_links(values, doctype)
			for target_doctype, names in missing.items():
				for remote in self.fetch(target_doctype, sorted(names)):
					self.insert_dependency(target_doctype, remote)
		finally:
			if name:
				self.in_progress.discard((doctype, name))

	def missing_links(self, values: dict, doctype: str) -> dict[str, set[str]]:
		missing: dict[str, set[str]] = {}
		for row_values, row_doctype in documents_in(values, doctype):
			meta = frappe.get_meta(row_doctype)
			for df in meta.get_link_fields() + meta.get_dynamic_link_fields():
				name = row_values.get(df.fieldname)
				target = df.options if df.fieldtype == "Link" else row_values.get(df.options)
				if not name or not isinstance(name, str) or not target or not isinstance(target, str):
					continue  # not a reference we could fetch; Frappe's link validation judges it
				key = (target, name)
				if key in self.in_progress or key in self.known:
					continue
				if not self.is_stored_here(target):
					continue  # unknown or virtual (nothing stored here to fetch into): Frappe judges it
				if exists_here(target, name):
					self.known.add(key)
					continue
				self.check_may_create(target, name)
				missing.setdefault(target, set()).add(name)
		return missing

	def is_stored_here(self, doctype: str) -> bool:
		"""Is ``doctype`` a DocType of this site whose records live in its database?"""
		if doctype not in self.stored_here:
			self.stored_here[doctype] = bool(frappe.db.exists("DocType", doctype)) and not (
				frappe.get_meta(doctype).is_virtual
			)
		return self.stored_here[doctype]

	def check_may_create(self, doctype: str, name: str) -> None:
		"""Refuse, with the reason, a missing link target this site never takes from a producer."""
		meta = frappe.get_meta(doctype)
		if trust.is_privileged(doctype):
			reason = _(
				"{0} records grant privileges or hold credentials and are never created from a producer's data"
			).format(_(doctype))
		elif meta.istable:
			reason = _("{0} is a child table, whose rows are never created on their own").format(_(doctype))
		elif meta.issingle:
			reason = _("{0} is a Single DocType").format(_(doctype))
		elif doctype in NEVER_FETCHED:
			reason = _("{0} records are set up on each site, not fetched").format(_(doctype))
		elif (self.allowed or trust.needs_opt_in_as_dependency(doctype)) and not (
			doctype in self.allowed or doctype in self.subscribed
		):
			reason = _("{0} is not among the Allowed Dependency DocTypes in Event Streaming Settings").format(
				_(doctype)
			)
		else:
			return
		frappe.throw(
			_(
				"This change links to {0} {1}, which does not exist on this site and cannot come from the producer: {2}."
			).format(_(doctype), name, reason),
			exc=DependencyRefused,
		)

	def forget_known(self) -> None:
		"""After a rollback: targets seen inside the rolled-back savepoint may be gone again."""
		self.known.clear()

	def fetch(self, doctype: str, names: list[str]) -> list[dict]:
		"""The producer's documents ``names`` of ``doctype``, in that order; anything else it sends is
		ignored, and a name it does not supply fails the log."""
		if self.supports_batch:
			reply = self.peer.call(GET_DOCUMENTS_METHOD, doctype=doctype, names=names) or []
			if not isinstance(reply, list):
				frappe.throw(
					_(
						"The producer answered the request for {0} records with something else than a list."
					).format(_(doctype)),
					exc=DependencyError,
				)
		else:
			reply = [self.peer.get_doc(doctype, name) for name in names]
		wanted = set(names)
		by_name = {}
		for document in reply:
			if isinstance(document, dict) and document.get("name") in wanted:
				by_name.setdefault(document["name"], document)
		absent = [name for name in names if name not in by_name]
		if absent:
			frappe.throw(
				_("The producer could not supply {0} {1}, which this change links to.").format(
					doctype, ", ".join(absent)
				),
				exc=DocumentAbsent,
			)
		return [by_name[name] for name in names]

	def insert_dependency(self, doctype: str, remote: dict) -> None:
		key = (doctype, remote["name"])
		if frappe.db.exists(doctype, remote["name"]):
			return
		self.in_progress.add(key)
		try:
			values = clean_document(doctype, remote)
			if doctype == "User" and doctype not in self.subscribed:
				# a login here is a privilege no producer grants: a User a change links to arrives
				# disabled, and without the welcome mail that lets whoever holds its address set a
				# password (an administrator enables it here if that person should log in)
				values["enabled"] = 0
				values["send_welcome_email"] = 0
			self.ensure(values, doctype)
			doc = new_document(values)
			doc.flags.no_welcome_mail = True
			# a link back to a document still being resolved (a cycle) is inserted right after
			doc.flags.ignore_links = self.links_into_progress(values, doctype)
			doc.insert(set_name=remote["name"], set_child_names=False)
			self.inserted.add(key)
		finally:
			self.in_progress.discard(key)

	def links_into_progress(self, values: dict, doctype: str) -> bool:
		for row_values, row_doctype in documents_in(values, doctype):
			meta = frappe.get_meta(row_doctype)
			for df in meta.get_link_fields() + meta.get_dynamic_link_fields():
				target = df.options if df.fieldtype == "Link" else row_values.get(df.options)
				name = row_values.get(df.fieldname)
				if isinstance(target, str) and isinstance(name, str) and (target, name) in self.in_progress:
					return True
		return False


def documents_in(values: dict, doctype: str):
	"""``values`` and each of its child rows, with their DocTypes."""
	yield values, doctype
	for df in frappe.get_meta(doctype).get_table_fields():
		rows = values.get(df.fieldname)
		for row in rows if isinstance(rows, list) else []:
			if isinstance(row, dict):
				yield row, df.options


def exists_here(doctype: str, name: str) -> bool:
	if frappe.get_meta(doctype).issingle:
		return name == doctype  # a Single's one record is named after its DocType
	return bool(frappe.db.exists(doctype, name))


def writable_fields(doctype: str) -> frozenset[str]:
	"""The fields of ``doctype`` a peer's values may set: its own data and table fields, without
	Password fields, privilege-bearing fields and the names kept for local copies."""
	meta = frappe.get_meta(doctype)
	return frozenset(
		df.fieldname
		for df in meta.fields
		if (df.fieldtype not in no_value_fields or df.fieldtype in table_fields)
		and df.fieldtype not in NEVER_FROM_PEER_TYPES
		and df.fieldname not in REMOTE_NAME_FIELDS
	) - trust.privileged_fields(doctype)


def peer_values(doctype: str, values: dict, extra: Collection[str] = PARENT_COLUMNS) -> dict:
	"""The part of a peer's document dict (or of an Update's ``changed``) this site accepts:
	fields of ``doctype`` (see writable_fields) and the ``extra`` standard columns. Owner,
	timestamps, assignments, likes, name and parent columns stay this site's own."""
	allowed = writable_fields(doctype) | frozenset(extra)
	return {key: value for key, value in values.items() if key in allowed}


def peer_row_values(doctype: str, values: dict) -> dict:
	"""A peer's child row: the child DocType's fields, its row name and position."""
	return peer_values(doctype, values, ROW_COLUMNS)


def check_docstatus(doctype: str, docstatus) -> int:
	"""A new document from a peer is a draft, or submitted if its DocType is submittable here."""
	if docstatus in (None, "", 0, "0"):
		return 0
	if docstatus in (1, "1") and frappe.get_meta(doctype).is_submittable:
		return 1
	frappe.throw(
		_(
			"The producer sent a new {0} with document status {1}; only a draft, or a submitted document of a submittable DocType, can be created."
		).format(_(doctype), docstatus),
		exc=DependencyError,
	)


def clean_document(doctype: str, values: dict) -> dict:
	"""A peer's document dict cut down to what a peer may set (see peer_values), rows included,
	ready for :func:`new_document`; check and fetch its links on this, not on the peer's dict."""
	clean = peer_values(doctype, values)
	clean["docstatus"] = check_docstatus(doctype, values.get("docstatus"))
	clean["doctype"] = doctype
	for df in frappe.get_meta(doctype).get_table_fields():
		rows = clean.get(df.fieldname)
		clean[df.fieldname] = [
			dict(peer_row_values(df.options, row), doctype=df.options)
			for row in (rows if isinstance(rows, list) else [])
			if isinstance(row, dict)
		]
	if doctype == "User":
		clean["send_welcome_email"] = 0  # no password-setting link mailed on a producer's say
	return clean


def new_document(clean: dict):
	"""A new Document from :func:`clean_document`'s output."""
	doc = frappe.get_doc(dict(clean))
	if doc.doctype == "User":
		doc.flags.no_welcome_mail = True
	return doc


def build_document(doctype: str, values: dict):
	"""A new Document from a peer's document dict, with only what a peer may set."""
	return new_document(clean_document(doctype, values))
