# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Compute and apply the Update diff of an Event Update Log, on plain dicts.

The diff has exactly the original app's four keys, all present even when empty:
``{"added": {table: [row]}, "changed": {field: value}, "removed": {table: [row name]},
"row_changed": {table: [{field: value, "name": row name}]}}``, so original consumers can apply it.
Values are compared after normalising by fieldtype (a date and its string, 1 and "1" are equal);
a change of a row's position is reported as its new ``idx`` in ``row_changed``.
This module does not import frappe: callers describe the DocType with a :class:`Schema`.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

DIFF_KEYS = ("added", "changed", "removed", "row_changed")

INT_TYPES = frozenset({"Int", "Check"})
# Duration is stored as decimal seconds, so it compares as a number.
FLOAT_TYPES = frozenset({"Float", "Currency", "Percent", "Duration"})
DATETIME_TYPES = frozenset({"Datetime"})
DATE_TYPES = frozenset({"Date"})
TIME_TYPES = frozenset({"Time"})
# Password values on a saved document are masks; replicating them would overwrite real secrets.
NEVER_REPLICATED_TYPES = frozenset({"Password"})


@dataclass
class Schema:
	"""The comparable fields of a DocType: ``fields`` maps fieldname to fieldtype for scalar
	fields, ``tables`` maps each table fieldname to the child DocType's own ``fields`` map."""

	fields: dict[str, str] = field(default_factory=dict)
	tables: dict[str, dict[str, str]] = field(default_factory=dict)


def empty_diff() -> dict:
	return {key: {} for key in DIFF_KEYS}


def is_empty(diff: dict) -> bool:
	return not any(diff.get(key) for key in DIFF_KEYS)


def normalise(value, fieldtype: str):
	"""Bring a value to a canonical form for comparison (never for storage)."""
	if fieldtype in INT_TYPES:
		return _to_number(value, int)
	if fieldtype in FLOAT_TYPES:
		number = _to_number(value, float)
		return round(number, 9) if isinstance(number, float) else number
	if value is None or value == "":
		return None
	if fieldtype in DATETIME_TYPES:
		return _to_datetime(value)
	if fieldtype in DATE_TYPES:
		return _to_date(value)
	if fieldtype in TIME_TYPES:
		return _to_time(value)
	return value


def values_differ(old, new, fieldtype: str) -> bool:
	return normalise(old, fieldtype) != normalise(new, fieldtype)


def compute_diff(old: dict, new: dict, schema: Schema, docstatus_changed: bool = True) -> dict | None:
	"""Return the Update diff that turns ``old`` into ``new``, or None when nothing changed."""
	diff = empty_diff()
	for fieldname, fieldtype in schema.fields.items():
		if fieldtype in NEVER_REPLICATED_TYPES:
			continue
		if values_differ(old.get(fieldname), new.get(fieldname), fieldtype):
			diff["changed"][fieldname] = new.get(fieldname)

	if docstatus_changed and _to_number(old.get("docstatus"), int) != _to_number(new.get("docstatus"), int):
		diff["changed"]["docstatus"] = _to_number(new.get("docstatus"), int)

	for table, child_fields in schema.tables.items():
		_diff_table(table, old.get(table) or [], new.get(table) or [], child_fields, diff)

	return None if is_empty(diff) else diff


def _diff_table(table: str, old_rows: list, new_rows: list, child_fields: dict, diff: dict) -> None:
	old_by_name = {row.get("name"): row for row in old_rows if row.get("name")}
	new_names = set()
	for row in new_rows:
		name = row.get("name")
		new_names.add(name)
		before = old_by_name.get(name)
		if before is None:
			diff["added"].setdefault(table, []).append(strip_unreplicated(row, child_fields))
			continue
		changes = {
			fieldname: row.get(fieldname)
			for fieldname, fieldtype in child_fields.items()
			if fieldtype not in NEVER_REPLICATED_TYPES
			and values_differ(before.get(fieldname), row.get(fieldname), fieldtype)
		}
		if _to_number(before.get("idx"), int) != _to_number(row.get("idx"), int):
			changes["idx"] = row.get("idx")
		if changes:
			changes["name"] = name
			diff["row_changed"].setdefault(table, []).append(changes)
	for name in old_by_name:
		if name not in new_names:
			diff["removed"].setdefault(table, []).append(name)


def strip_unreplicated(values: dict, fields: dict[str, str]) -> dict:
	"""A copy of ``values`` without the fields that must never leave the site (Password)."""
	return {key: value for key, value in values.items() if fields.get(key) not in NEVER_REPLICATED_TYPES}


def strip_snapshot(snapshot: dict, schema: Schema) -> dict:
	"""A Create snapshot without Password fields, in the parent and in every child row."""
	clean = strip_unreplicated(snapshot, schema.fields)
	for table, child_fields in schema.tables.items():
		if isinstance(clean.get(table), list):
			clean[table] = [strip_unreplicated(row, child_fields) for row in clean[table]]
	return clean


def apply_diff(target: dict, diff: dict) -> dict:
	"""Apply a diff to a plain document dict (tables are lists of row dicts), returning a new dict.

	Used to replay and to check a diff without frappe; the consumer applies diffs to Documents with
	the same rules: removed rows that are already gone and changed rows that are missing are ignored.
	"""
	result = {
		key: ([dict(row) for row in value] if isinstance(value, list) else value)
		for key, value in target.items()
	}
	result.update(diff.get("changed") or {})
	for table, names in (diff.get("removed") or {}).items():
		drop = set(names)
		result[table] = [row for row in result.get(table) or [] if row.get("name") not in drop]
	for table, changes in (diff.get("row_changed") or {}).items():
		rows = {row.get("name"): row for row in result.get(table) or []}
		for change in changes:
			row = rows.get(change.get("name"))
			if row is not None:
				row.update(change)
	for table, rows in (diff.get("added") or {}).items():
		existing = {row.get("name") for row in result.get(table) or []}
		result[table] = (result.get(table) or []) + [
			dict(row) for row in rows if row.get("name") not in existing
		]
	for table in {*(diff.get("row_changed") or {}), *(diff.get("added") or {})}:
		if table not in result:
			continue
		result[table] = sorted(result[table], key=lambda row: _to_number(row.get("idx"), int) or 0)
	return result


def _to_number(value, kind):
	if value is None or value == "":
		return kind(0)
	if isinstance(value, bool):
		return kind(value)
	if isinstance(value, int | float | Decimal):
		return kind(value)
	try:
		return kind(float(value))
	except (TypeError, ValueError):
		return value


def _to_datetime(value):
	if isinstance(value, datetime.datetime):
		return value.replace(tzinfo=None)
	if isinstance(value, datetime.date):
		return datetime.datetime.combine(value, datetime.time())
	try:
		return datetime.datetime.fromisoformat(str(value).strip()).replace(tzinfo=None)
	except ValueError:
		return value


def _to_date(value):
	if isinstance(value, datetime.datetime):
		return value.date()
	if isinstance(value, datetime.date):
		return value
	try:
		return datetime.date.fromisoformat(str(value).strip()[:10])
	except ValueError:
		return value


def _to_time(value):
	"""A Time value as a timedelta (the database returns timedelta, forms send "HH:MM:SS")."""
	if isinstance(value, datetime.timedelta):
		return value
	if isinstance(value, datetime.time):
		return datetime.timedelta(
			hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
		)
	text = str(value).strip()
	parts = text.split(":")
	try:
		if len(parts) not in (2, 3):
			raise ValueError(text)
		seconds = float(parts[2]) if len(parts) == 3 else 0.0
		return datetime.timedelta(hours=int(parts[0]), minutes=int(parts[1]), seconds=seconds)
	except (ValueError, OverflowError):
		return text
