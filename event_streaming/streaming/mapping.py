# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Turn feed rows of a mapping's remote DocType into rows of its local DocType.

``map_row`` rewrites a checked feed row as a Document Type Mapping says: a Create snapshot becomes
a local document dict, an Update diff a diff in local field and table names; Delete and rename
rows only change DocType. "Document" rows resolve their link while mapping, inside the caller's
savepoint: the remote document chosen by the row's filters is mapped through its own mapping (to
any depth) and inserted, unless a local copy already exists (see :meth:`Mapper.find_existing`).
A link back to a document still being mapped (a cycle) is set only if that document is already
here, else it keeps the row's default. The dict rewriting itself lives in ``field_mapping``.
"""

import re
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.model import child_table_fields, default_fields, optional_fields

from event_streaming.streaming import dependencies, field_mapping, transport
from event_streaming.streaming.field_mapping import CHILD_TABLE, CREATE, DOCUMENT, UPDATE, Rule

REMOTE_NAME_FIELDS = ("remote_docname", "remote_site_name")
# columns every document has: a mapping row may target them although meta has no DocField for them
STANDARD_COLUMNS = frozenset((*default_fields, *child_table_fields, *optional_fields))


class MappingError(frappe.ValidationError):
	"""A row cannot be mapped: the mapping is incomplete or a linked document cannot be found."""


@dataclass
class MappingSpec:
	"""A Document Type Mapping, loaded once per mapped row."""

	name: str
	local_doctype: str
	remote_doctype: str
	rules: list[Rule]


def map_row(row: dict, mapping_name: str, applier) -> dict:
	"""A copy of the feed ``row`` (of the mapping's remote DocType) expressed for its local DocType."""
	return Mapper(applier).map_row(row, mapping_name)


def load_mapping(name: str) -> MappingSpec:
	doc = frappe.get_cached_doc("Document Type Mapping", name)
	return MappingSpec(
		name=doc.name,
		local_doctype=doc.local_doctype,
		remote_doctype=doc.remote_doctype,
		rules=[rule_of(row, doc.name) for row in doc.field_mapping],
	)


def rule_of(row, mapping_name: str) -> Rule:
	"""The Rule of one Document Type Field Mapping row; MappingError if it cannot be used."""
	kind = row.mapping_type or ""
	if kind and not row.mapping:
		frappe.throw(
			_("Mapping {0}, row {1}: a {2} row needs a Mapping.").format(mapping_name, row.idx, _(kind)),
			exc=MappingError,
		)
	filters = None
	if kind == DOCUMENT:
		try:
			filters = field_mapping.parse_filters(row.remote_value_filters)
		except field_mapping.MappingRuleError as error:
			frappe.throw(
				_("Mapping {0}, row {1}: {2}").format(mapping_name, row.idx, str(error)), exc=MappingError
			)
	return Rule(
		local=(row.local_fieldname or "").strip(),
		remote=(row.remote_fieldname or "").strip() or None,
		kind=kind,
		mapping=row.mapping or None,
		filters=filters,
		default=row.default_value,
	)


def tracks_remote_names(meta) -> bool:
	return all(meta.has_field(fieldname) for fieldname in REMOTE_NAME_FIELDS)


def identity_fields(meta) -> list[str]:
	"""Fields whose value names a record of this DocType: the naming field, then unique fields."""
	fields = []
	autoname = (meta.autoname or "").strip()
	if autoname.lower().startswith("field:"):
		fields.append(autoname[len("field:") :].strip())
	for df in meta.fields:
		if df.unique and df.fieldname not in fields and df.fieldtype not in frappe.model.table_fields:
			fields.append(df.fieldname)
	return fields


def evaluate_expression(expression: str, doc: dict):
	"""Evaluate an ``eval:`` filter value with ``doc`` (the remote document) in scope."""
	from frappe.utils.safe_exec import get_safe_globals

	try:
		return frappe.safe_eval(expression, get_safe_globals(), {"doc": frappe._dict(doc)})
	except Exception as error:
		frappe.throw(
			_("The filter expression {0} failed: {1}").format(frappe.bold(expression), str(error)),
			exc=MappingError,
		)


class Mapper:
	"""Maps the row of one log; remembers the mappings, remote documents and links it resolved."""

	def __init__(self, applier):
		self.applier = applier
		self.peer = applier.peer
		self.producer_name = applier.producer.name
		self.specs: dict[str, MappingSpec] = {}
		self.remote_docs: dict[tuple[str, str], dict] = {}
		self.resolved: dict[tuple[str, str], str | None] = {}
		# (mapping, remote name) of the documents being mapped now: a link back to one is a cycle
		self.in_progress: set[tuple[str, str]] = set()

	def spec(self, name: str) -> MappingSpec:
		if name not in self.specs:
			self.specs[name] = load_mapping(name)
		return self.specs[name]

	def map_row(self, row: dict, mapping_name: str) -> dict:
		spec = self.spec(mapping_name)
		mapped = dict(row, ref_doctype=spec.local_doctype)
		data = row.get("data")
		if row["update_type"] == "Delete" or data is None:
			return mapped
		if row["update_type"] == "Create":
			mapped["data"] = self.map_document(spec, data, row["docname"])
		elif not data.get("rename"):
			mapped["data"] = self.map_diff(spec, data, row["docname"])
		return mapped

	# --- Create ----------------------------------------------------------------------------------

	def map_document(
		self, spec: MappingSpec, remote: dict, remote_name: str | None, resolve_links: bool = True
	) -> dict:
		"""A whole local document dict from a whole remote one.

		Without ``resolve_links``, Document rows keep their defaults: used to identify an existing
		copy before anything is fetched or inserted for it."""
		key = (spec.name, remote_name)
		added = remote_name is not None and key not in self.in_progress
		if added:
			self.in_progress.add(key)
		try:
			values = field_mapping.map_values(
				remote,
				spec.rules,
				CREATE,
				resolve=self.resolver(remote) if resolve_links else None,
				map_rows=lambda rule, rows: self.map_table(rule, rows, resolve_links),
			)
		finally:
			if added:
				self.in_progress.discard(key)
		values = self.without_foreign_tables(values, spec.local_doctype)
		values["doctype"] = spec.local_doctype
		return values

	def map_table(self, rule: Rule, rows: list, resolve_links: bool = True) -> list[dict]:
		child = self.spec(rule.mapping)
		return [
			field_mapping.map_child_row(
				row,
				child.rules,
				child.local_doctype,
				CREATE,
				resolve=self.resolver(row) if resolve_links else None,
			)
			for row in rows
			if isinstance(row, dict)
		]

	def without_foreign_tables(self, values: dict, doctype: str) -> dict:
		"""Drop remote tables that have no field of the same name here: their rows have nowhere to go."""
		meta = frappe.get_meta(doctype)
		return {
			key: value for key, value in values.items() if not isinstance(value, list) or meta.has_field(key)
		}

	# --- Update ----------------------------------------------------------------------------------

	def map_diff(self, spec: MappingSpec, diff: dict, remote_name: str) -> dict:
		local_tables = {df.fieldname for df in frappe.get_meta(spec.local_doctype).get_table_fields()}

		def map_changed(changed: dict) -> dict:
			source = changed
			if field_mapping.document_rules_read(spec.rules, changed):
				# filters may name fields the diff does not carry: read them from the whole document
				source = {**self.current_remote(spec.remote_doctype, remote_name), **changed}
			return field_mapping.map_values(changed, spec.rules, UPDATE, resolve=self.resolver(source))

		def map_table_row(rule: Rule, row: dict, mode: str) -> dict:
			child = self.spec(rule.mapping)
			source = row
			if mode == UPDATE and field_mapping.document_rules_read(child.rules, row):
				whole = self.current_remote(spec.remote_doctype, remote_name)
				current = next(
					(r for r in whole.get(rule.remote) or [] if r.get("name") == row.get("name")), {}
				)
				source = {**current, **row}
			return field_mapping.map_child_row(
				row, child.rules, child.local_doctype, mode, resolve=self.resolver(source)
			)

		key = (spec.name, remote_name)
		self.in_progress.add(key)
		try:
			return field_mapping.map_diff(diff, spec.rules, map_changed, map_table_row, local_tables)
		except field_mapping.UnmappedTableError as error:
			frappe.throw(
				_(
					"This change touches the table {0} of {1}, which mapping {2} does not cover. Add a Child Table row for it to the mapping, then resync this log."
				).format(frappe.bold(error.table), frappe.bold(spec.remote_doctype), frappe.bold(spec.name)),
				exc=MappingError,
				title=_("Unmapped Child Table"),
			)
		finally:
			self.in_progress.discard(key)

	def current_remote(self, doctype: str, name: str) -> dict:
		try:
			return self.remote_doc(doctype, name)
		except transport.PeerNotFound:
			return {}  # deleted since: the diff's own values are all there is

	def remote_doc(self, doctype: str, name: str) -> dict:
		key = (doctype, name)
		if key not in self.remote_docs:
			self.remote_docs[key] = self.peer.get_doc(doctype, name)
		return self.remote_docs[key]

	# --- Document rows ---------------------------------------------------------------------------

	def resolver(self, source: dict):
		"""The callback that resolves Document rows of a dict whose remote values are ``source``."""
		return lambda rule, value: self.resolve(rule, source)

	def resolve(self, rule: Rule, source: dict) -> str | None:
		"""The local name for a Document row: its remote match, mapped and found or inserted here."""
		inner = self.spec(rule.mapping)
		filters = field_mapping.evaluate_filters(rule.filters or {}, source, evaluate_expression)
		cache_key = (inner.name, frappe.as_json(filters, indent=None))
		if cache_key in self.resolved:
			return self.resolved[cache_key]
		matches = self.peer.get_list(inner.remote_doctype, filters=filters, fields=["name"], limit=1)
		if not matches:
			if field_mapping.has_default(rule):
				return None
			frappe.throw(
				_("No {0} on the producer matches {1}, so {2} cannot be set (mapping {3}).").format(
					frappe.bold(inner.remote_doctype),
					frappe.as_json(filters, indent=None),
					frappe.bold(rule.local),
					frappe.bold(inner.name),
				),
				exc=MappingError,
			)
		local_name = self.local_copy(inner, matches[0]["name"])
		self.resolved[cache_key] = local_name
		return local_name

	def local_copy(self, spec: MappingSpec, remote_name: str) -> str | None:
		if (spec.name, remote_name) in self.in_progress:
			return self.find_existing(spec, {}, remote_name)  # a cycle: link it only if it is here
		remote = self.remote_doc(spec.remote_doctype, remote_name)
		existing = self.find_existing(
			spec, self.map_document(spec, remote, remote_name, resolve_links=False), remote_name
		)
		if existing:
			return existing
		return self.insert(spec, self.map_document(spec, remote, remote_name), remote_name)

	def find_existing(self, spec: MappingSpec, values: dict, remote_name: str) -> str | None:
		"""The local copy of a remote dependency, if there is one.

		In order: the record that remembers this remote name and producer (when the DocType has the
		remote_docname/remote_site_name fields); the record the mapped values name (its naming
		field or a unique field), which a local copy made earlier or by hand shares; else the
		record with the remote name itself, as inserted when neither of those applies."""
		doctype = spec.local_doctype
		meta = frappe.get_meta(doctype)
		tracked = tracks_remote_names(meta)
		if tracked:
			name = frappe.db.get_value(
				doctype, {"remote_docname": remote_name, "remote_site_name": self.producer_name}, "name"
			)
			if name:
				return name
		for fieldname in identity_fields(meta):
			value = values.get(fieldname)
			if not field_mapping.is_missing(value) and not isinstance(value, list | dict):
				name = frappe.db.get_value(doctype, {fieldname: value}, "name")
				if name:
					return name
		if not tracked and frappe.db.exists(doctype, remote_name):
			return remote_name
		return None

	def insert(self, spec: MappingSpec, values: dict, remote_name: str) -> str:
		doctype = spec.local_doctype
		meta = frappe.get_meta(doctype)
		tracked = tracks_remote_names(meta)
		identified = tracked or any(
			not field_mapping.is_missing(values.get(f)) for f in identity_fields(meta)
		)
		# keep the producer's name when nothing else would find this copy again on the next sync
		keep_remote_name = not identified or (meta.autoname or "").lower() == "prompt"
		# the mapping names its local DocType, so the site approved it; its link targets are
		# dependencies like any other, so privileged ones are refused (see dependencies)
		values = dependencies.clean_document(doctype, values)
		self.applier.resolver.ensure(values, doctype)
		doc = dependencies.new_document(values)
		if tracked:
			doc.remote_docname = remote_name
			doc.remote_site_name = self.producer_name
		previous_origin = frappe.flags.event_streaming_origin
		# the copy came from this producer: capture must not send it back there
		frappe.flags.event_streaming_origin = self.producer_name
		try:
			if keep_remote_name:
				doc.insert(set_name=remote_name)
			else:
				doc.name = None
				doc.insert()
		finally:
			frappe.flags.event_streaming_origin = previous_origin
		return doc.name


# --- Desk helper ----------------------------------------------------------------------------------

# standard columns worth offering as remote fieldnames (the rest are bookkeeping)
OFFERED_STANDARD_FIELDS = ("name", "owner", "creation", "modified", "docstatus")
# a fieldname as Frappe makes them (custom fields of other apps may use capitals)
FIELDNAME = re.compile(r"[A-Za-z0-9_]{1,140}")


def producer_using(mapping_name: str) -> str | None:
	"""The Event Producer that uses a mapping, directly or as the inner mapping of one it uses;
	the only Event Producer when none does."""
	names, seen = {mapping_name}, set()
	while names:
		producer = frappe.db.get_value(
			"Event Producer Document Type",
			{"mapping": ["in", sorted(names)], "parenttype": "Event Producer"},
			"parent",
		)
		if producer:
			return producer
		seen |= names
		parents = frappe.get_all(
			"Document Type Field Mapping",
			filters={"mapping": ["in", sorted(names)], "parenttype": "Document Type Mapping"},
			pluck="parent",
		)
		names = set(parents) - seen
	producers = frappe.get_all("Event Producer", pluck="name", limit=2)
	return producers[0] if len(producers) == 1 else None


def remote_fields(mapping_name: str) -> list[dict]:
	"""The fields of the mapping's remote DocType as the producer defines them (custom fields too)."""
	remote_doctype = frappe.db.get_value("Document Type Mapping", mapping_name, "remote_doctype")
	producer = producer_using(mapping_name)
	if not producer:
		frappe.throw(
			_("No Event Producer uses mapping {0} yet, so its remote fields cannot be read.").format(
				frappe.bold(mapping_name)
			),
			exc=MappingError,
		)
	return remote_fields_of(remote_doctype, producer)


def remote_fields_of(remote_doctype: str, producer) -> list[dict]:
	"""The fields of ``remote_doctype`` as ``producer`` (an Event Producer or its name) defines them."""
	peer = transport.producer_peer(producer)
	columns = ["fieldname", "label", "fieldtype", "options"]
	try:
		fields = peer.get_method(
			"frappe.client.get_list",
			doctype="DocField",
			parent="DocType",
			filters={"parent": remote_doctype},
			fields=columns,
			order_by="idx asc",
			limit_page_length=0,
		)
		custom = peer.get_method(
			"frappe.client.get_list",
			doctype="Custom Field",
			filters={"dt": remote_doctype},
			fields=columns,
			order_by="idx asc",
			limit_page_length=0,
		)
	except transport.PeerError as error:
		frappe.throw(
			_("Could not read the fields of {0} from {1}: {2}").format(
				frappe.bold(remote_doctype), producer, frappe.utils.escape_html(str(error))
			),
			exc=MappingError,
		)
	layout = set(frappe.model.no_value_fields) - set(frappe.model.table_fields)
	result = [
		{"fieldname": name, "label": name, "fieldtype": "Data", "options": None}
		for name in OFFERED_STANDARD_FIELDS
	]
	for field in (fields or []) + (custom or []):
		if isinstance(field, dict) and field.get("fieldtype") not in layout:
			offered = offered_field(field)
			if offered:
				result.append(offered)
	return result


def offered_field(field: dict) -> dict | None:
	"""A producer's field as the mapping form offers it: only a real fieldname, and its label and
	type as short text (which the form escapes: its suggestion list renders markup)."""
	fieldname = field.get("fieldname")
	if not isinstance(fieldname, str) or not FIELDNAME.fullmatch(fieldname):
		return None

	def text(value) -> str | None:
		return str(value)[:140] if value not in (None, "") else None

	return {
		"fieldname": fieldname,
		"label": text(field.get("label")),
		"fieldtype": text(field.get("fieldtype")),
		"options": text(field.get("options")),
	}
