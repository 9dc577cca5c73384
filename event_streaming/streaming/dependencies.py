# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Fetch the link targets a replicated document needs before it is inserted or saved.

Link, Dynamic Link and child-row links that are missing locally are fetched from the producer in
one request per target DocType (v2 producers) and inserted first under the producer's name,
recursively; a cycle is closed by inserting its last member without link validation. A target
the producer cannot supply fails the log that needed it, and nothing of it is kept (the caller's
savepoint rolls back). User records arrive without roles: privileges never replicate.
"""

import frappe
from frappe import _
from frappe.model import table_fields

from event_streaming.streaming import transport

GET_DOCUMENTS_METHOD = "event_streaming.api.get_documents"
LOCAL_ONLY_FIELDS = (
	"owner",
	"creation",
	"modified",
	"modified_by",
	"_user_tags",
	"_comments",
	"_assign",
	"_liked_by",
	"_seen",
)
# Framework records every site already has; a missing one is a real error, not a dependency.
NEVER_FETCHED = frozenset(
	{"DocType", "Module Def", "Role", "Report", "Page", "Workspace", "Language", "Country", "Currency"}
)


class DependencyError(frappe.ValidationError):
	pass


class DependencyResolver:
	"""Resolves dependencies for one log; remembers what it fetched so nothing is fetched twice."""

	def __init__(self, peer: transport.Peer, supports_batch: bool):
		self.peer = peer
		self.supports_batch = supports_batch
		self.in_progress: set[tuple[str, str]] = set()
		# link targets seen to exist: most logs of a page point at the same few users and masters
		self.known: set[tuple[str, str]] = set()
		self.fetchable: dict[str, bool] = {}
		# documents this resolver inserted: whatever was looked up about them before is stale
		self.inserted: set[tuple[str, str]] = set()

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
		for row_values, row_doctype in self._documents_in(values, doctype):
			meta = frappe.get_meta(row_doctype)
			for df in meta.get_link_fields() + meta.get_dynamic_link_fields():
				name = row_values.get(df.fieldname)
				if not name or not isinstance(name, str):
					continue
				target = df.options if df.fieldtype == "Link" else row_values.get(df.options)
				if not target or target in NEVER_FETCHED or (target, name) in self.in_progress:
					continue
				if not self.is_fetchable(target):
					continue
				if (target, name) in self.known:
					continue
				if frappe.db.exists(target, name):
					self.known.add((target, name))
				else:
					missing.setdefault(target, set()).add(name)
		return missing

	def forget_known(self) -> None:
		"""After a rollback: targets seen inside the rolled-back savepoint may be gone again."""
		self.known.clear()

	def is_fetchable(self, doctype: str) -> bool:
		if doctype not in self.fetchable:
			self.fetchable[doctype] = (
				bool(frappe.db.exists("DocType", doctype)) and not frappe.get_meta(doctype).issingle
			)
		return self.fetchable[doctype]

	def _documents_in(self, values: dict, doctype: str):
		yield values, doctype
		meta = frappe.get_meta(doctype)
		for df in meta.fields:
			if df.fieldtype in table_fields:
				for row in values.get(df.fieldname) or []:
					if isinstance(row, dict):
						yield row, df.options

	def fetch(self, doctype: str, names: list[str]) -> list[dict]:
		if self.supports_batch:
			documents = self.peer.call(GET_DOCUMENTS_METHOD, doctype=doctype, names=names) or []
		else:
			documents = [self.peer.get_doc(doctype, name) for name in names]
		found = {document.get("name") for document in documents if isinstance(document, dict)}
		absent = [name for name in names if name not in found]
		if absent:
			frappe.throw(
				_("The producer could not supply {0} {1}, which this change links to.").format(
					doctype, ", ".join(absent)
				),
				exc=DependencyError,
			)
		return documents

	def insert_dependency(self, doctype: str, remote: dict) -> None:
		key = (doctype, remote["name"])
		if frappe.db.exists(doctype, remote["name"]):
			return
		self.in_progress.add(key)
		try:
			self.ensure(remote, doctype)
			doc = build_document(doctype, remote)
			if doctype == "User":
				doc.set("roles", [])
			# a link back to a document still being resolved (a cycle) is inserted right after
			doc.flags.ignore_links = self.links_into_progress(remote, doctype)
			doc.insert(set_name=remote["name"], set_child_names=False)
			self.inserted.add(key)
		finally:
			self.in_progress.discard(key)

	def links_into_progress(self, values: dict, doctype: str) -> bool:
		for row_values, row_doctype in self._documents_in(values, doctype):
			meta = frappe.get_meta(row_doctype)
			for df in meta.get_link_fields() + meta.get_dynamic_link_fields():
				target = df.options if df.fieldtype == "Link" else row_values.get(df.options)
				if (target, row_values.get(df.fieldname)) in self.in_progress:
					return True
		return False


def build_document(doctype: str, values: dict):
	"""A new Document from a remote dict: local bookkeeping fields are left to this site."""
	clean = {
		key: value
		for key, value in values.items()
		if key not in LOCAL_ONLY_FIELDS and not key.startswith("__")
	}
	clean["doctype"] = doctype
	for df in frappe.get_meta(doctype).get_table_fields():
		rows = []
		for row in clean.get(df.fieldname) or []:
			row = {
				key: value
				for key, value in row.items()
				if key not in LOCAL_ONLY_FIELDS and not key.startswith("__")
			}
			row["doctype"] = df.options
			rows.append(row)
		clean[df.fieldname] = rows
	return frappe.get_doc(clean)
