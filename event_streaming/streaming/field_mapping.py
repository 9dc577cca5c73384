# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Rewrite remote document dicts and Update diffs into local fieldnames, on plain dicts.

A mapping is a list of :class:`Rule` (local field <- remote field). Remote keys that no rule reads
pass through unchanged; keys a rule reads are dropped only after every rule ran, so two local
fields can read one remote field. A value counts as missing when it is None, "" or an empty list
(never 0, so a remote Check of 0 keeps its value). Child tables and linked documents are handled
through callbacks, so this module does not import frappe.
"""

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass

CHILD_TABLE = "Child Table"
DOCUMENT = "Document"
MAPPING_TYPES = ("", CHILD_TABLE, DOCUMENT)

CREATE = "Create"
UPDATE = "Update"

DIFF_TABLE_KEYS = ("added", "removed", "row_changed")
EVAL_PREFIX = "eval:"
# keys a child row carries from its remote parent; the local parent sets its own
PARENT_KEYS = ("parent", "parenttype", "parentfield")


class MappingRuleError(ValueError):
	"""A mapping row that cannot be used (the message says why)."""


class UnmappedTableError(ValueError):
	"""An Update diff touches a remote table that the mapping does not cover."""

	def __init__(self, table: str):
		super().__init__(table)
		self.table = table


@dataclass(frozen=True)
class Rule:
	"""One row of a Document Type Mapping: ``local`` <- ``remote``."""

	local: str
	remote: str | None = None
	kind: str = ""
	mapping: str | None = None
	filters: dict | None = None
	default: str | None = None


def is_missing(value) -> bool:
	return value is None or value == "" or value == []


def has_default(rule: Rule) -> bool:
	return not is_missing(rule.default)


def parse_filters(text) -> dict:
	"""The ``remote_value_filters`` of a Document row as a dict; MappingRuleError if it is not one."""
	if isinstance(text, dict):
		return dict(text)
	if is_missing(text):
		raise MappingRuleError("Remote Value Filters are empty")
	try:
		value = json.loads(text)
	except (TypeError, ValueError) as error:
		raise MappingRuleError(f"Remote Value Filters are not valid JSON: {error}")
	if not isinstance(value, dict) or not value:
		raise MappingRuleError('Remote Value Filters must be a JSON object such as {"title": "title"}')
	return value


def evaluate_filters(spec: dict, doc: dict, evaluate: Callable[[str, dict], object]) -> dict:
	"""Turn a filter spec {remote fieldname: value spec} into filters for the producer.

	A spec ``"eval:<expr>"`` is ``evaluate(expr, doc)``; a spec naming a field of ``doc`` that holds
	a value takes that value; anything else is a literal."""
	filters = {}
	for fieldname, value_spec in spec.items():
		if isinstance(value_spec, str) and value_spec.startswith(EVAL_PREFIX):
			filters[fieldname] = evaluate(value_spec[len(EVAL_PREFIX) :], doc)
		elif isinstance(value_spec, str) and not is_missing(doc.get(value_spec)):
			filters[fieldname] = doc[value_spec]
		else:
			filters[fieldname] = value_spec
	return filters


def map_values(
	values: dict,
	rules: list[Rule],
	mode: str = CREATE,
	resolve: Callable[[Rule, object], str | None] | None = None,
	map_rows: Callable[[Rule, list], list] | None = None,
) -> dict:
	"""Map one remote dict (a whole document for Create, the ``changed`` part of a diff for Update).

	``resolve(rule, value)`` returns the local name for a Document row (None: use the default);
	``map_rows(rule, rows)`` maps the rows of a Child Table row. On Update only the remote fields
	present in ``values`` are touched, and rules without a remote field are not applied."""
	result = dict(values)
	consumed = set()
	written = set()
	for rule in rules:
		if not rule.remote:
			if mode == CREATE and has_default(rule):
				result[rule.local] = rule.default
				written.add(rule.local)
			continue
		present = rule.remote in values
		value = values.get(rule.remote)
		if present:
			consumed.add(rule.remote)
		elif mode == UPDATE:
			continue  # the diff does not touch this field
		if rule.kind == CHILD_TABLE:
			if mode == UPDATE:
				continue  # tables never travel in ``changed``; map_diff handles their rows
			result[rule.local] = map_rows(rule, value or []) if map_rows else list(value or [])
			written.add(rule.local)
			continue
		if is_missing(value):
			if has_default(rule):
				result[rule.local] = rule.default
				written.add(rule.local)
			elif mode == UPDATE:
				result[rule.local] = value  # the remote field was cleared: clear the local one too
				written.add(rule.local)
			continue
		if rule.kind == DOCUMENT:
			local_name = resolve(rule, value) if resolve else None
			if local_name is None:
				if has_default(rule):
					result[rule.local] = rule.default
					written.add(rule.local)
				continue
			result[rule.local] = local_name
		else:
			result[rule.local] = value
		written.add(rule.local)
	for key in consumed - written:
		result.pop(key, None)
	return result


def map_child_row(row: dict, rules: list[Rule], local_doctype: str, mode: str = CREATE, **callbacks) -> dict:
	"""Map one child row: its fields through ``rules``; ``name`` and ``idx`` pass through so that
	later diffs find the row; the parent keys are left for the local parent to set."""
	result = map_values(row, rules, mode, **callbacks)
	for key in PARENT_KEYS:
		result.pop(key, None)
	if mode == CREATE:
		result["doctype"] = local_doctype
	else:
		result.pop("doctype", None)
	return result


def map_diff(
	diff: dict,
	rules: list[Rule],
	map_changed: Callable[[dict], dict],
	map_table_row: Callable[[Rule, dict, str], dict],
	local_tables: Collection[str] = (),
) -> dict:
	"""Map an Update diff: ``changed`` through ``map_changed``, table keys renamed to the local table
	of the Child Table rule reading them, rows through ``map_table_row(rule, row, mode)``.

	A remote table no rule reads passes through only when the local DocType has a table of the
	same name; otherwise :class:`UnmappedTableError` is raised. Other keys (``rename``) pass."""
	result = {key: value for key, value in diff.items() if key != "changed" and key not in DIFF_TABLE_KEYS}
	result["changed"] = map_changed(dict(diff.get("changed") or {}))
	tables = {rule.remote: rule for rule in rules if rule.kind == CHILD_TABLE and rule.remote}
	for key in DIFF_TABLE_KEYS:
		mapped = {}
		for table, rows in (diff.get(key) or {}).items():
			if not rows:
				continue
			rule = tables.get(table)
			if rule is None:
				if table in local_tables:
					mapped[table] = rows
					continue
				raise UnmappedTableError(table)
			if key == "removed":
				mapped.setdefault(rule.local, []).extend(rows)  # row names need no mapping
			else:
				mode = CREATE if key == "added" else UPDATE
				mapped.setdefault(rule.local, []).extend(map_table_row(rule, row, mode) for row in rows)
		result[key] = mapped
	return result


def document_rules_read(rules: list[Rule], values: dict) -> bool:
	"""True when a Document rule reads a remote field present in ``values``."""
	return any(rule.kind == DOCUMENT and rule.remote and rule.remote in values for rule in rules)
