# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Subscription conditions, evaluated on the producer when the feed is served.

A condition is either a ``safe_eval`` expression with ``doc`` in scope (``doc.public == 1``) or
``cmd:<dotted path>``. A consumer writes conditions, so a ``cmd:`` path must be registered by an
installed app in the ``event_streaming_conditions`` hook (or, for test suites, listed by the
site's operator under the same key in site_config.json); the original's call-anything behaviour
only comes back through the "Allow Any cmd: Function" setting, which is off by default.

Either form sees a read-only copy of the document, never the live Document: ``doc.db_set(...)``,
``doc.save()`` and the like fail, so judging a document can never change it.
"""

import frappe
from frappe import _

CONDITION_HOOK = "event_streaming_conditions"
# site_config.json key, same name as the hook: extra functions an operator allows on this site
CONDITION_SITE_CONFIG = "event_streaming_conditions"
# Document methods that write or run code; on a read-only copy they raise a clear error
WRITE_METHODS = frozenset(
	{
		"db_set", "db_update", "db_update_all", "db_insert", "save", "insert", "submit", "cancel",
		"delete", "rename", "reload", "update", "set", "append", "extend", "remove", "run_method",
		"add_comment", "add_tag", "add_seen", "add_viewed", "notify_update", "set_value",
		"queue_action", "update_children", "update_child_table", "setdefault", "pop", "clear",
	}
)  # fmt: skip


class ConditionNotAllowed(frappe.ValidationError):
	pass


class ReadOnlyDocumentError(frappe.ValidationError):
	pass


class ReadOnlyDocument:
	"""A document's values as a condition sees them: ``doc.field``, ``doc.get("field")``,
	``doc["field"]`` and child rows as tuples of read-only rows. Unknown fields read as None, as
	on a Document; nothing can be set, and write methods raise ReadOnlyDocumentError."""

	__slots__ = ("_values",)

	def __init__(self, values: dict):
		object.__setattr__(
			self,
			"_values",
			{
				key: tuple(ReadOnlyDocument(row) for row in value)
				if isinstance(value, list | tuple) and all(isinstance(row, dict) for row in value)
				else value
				for key, value in values.items()
			},
		)

	def __getattr__(self, name: str):
		if name.startswith("_"):
			raise AttributeError(name)
		if name in WRITE_METHODS and name not in self._values:
			raise ReadOnlyDocumentError(
				_("A subscription condition cannot change the document (it called {0}).").format(name)
			)
		return self._values.get(name)

	def __setattr__(self, name, value):
		raise ReadOnlyDocumentError(_("A subscription condition cannot change the document."))

	def __delattr__(self, name):
		raise ReadOnlyDocumentError(_("A subscription condition cannot change the document."))

	def __getitem__(self, key):
		return self._values[key]

	def __contains__(self, key) -> bool:
		return key in self._values

	def __repr__(self) -> str:
		return f"<ReadOnlyDocument {self._values.get('doctype')} {self._values.get('name')}>"

	def get(self, key, default=None):
		value = self._values.get(key)
		return default if value is None else value

	def as_dict(self) -> dict:
		"""A plain, mutable copy of the values (child rows as lists of dicts)."""
		return {
			key: [row.as_dict() for row in value]
			if isinstance(value, tuple) and all(isinstance(row, ReadOnlyDocument) for row in value)
			else value
			for key, value in self._values.items()
		}


def read_only_copy(doc) -> ReadOnlyDocument:
	"""A read-only copy of a Document (or a dict): what conditions are evaluated against."""
	values = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
	return ReadOnlyDocument(values)


def function_path(condition: str | None) -> str | None:
	"""The dotted path of a ``cmd:`` condition, or None for an expression or no condition."""
	condition = (condition or "").strip()
	if not condition.startswith("cmd:"):
		return None
	return condition[len("cmd:") :].strip()


def registered_functions() -> set[str]:
	"""Functions installed apps register in the hook, plus those the site's operator lists under the
	same key in site_config.json (a list of dotted paths; the test suite uses it for its fixture)."""
	functions = set(frappe.get_hooks(CONDITION_HOOK) or [])
	configured = frappe.conf.get(CONDITION_SITE_CONFIG) or []
	if isinstance(configured, str):
		configured = [configured]
	functions.update(path for path in configured if isinstance(path, str))
	return functions


def validate_condition(condition: str | None) -> None:
	"""Refuse a ``cmd:`` condition whose function no installed app registered."""
	path = function_path(condition)
	if not path:
		return
	if path in registered_functions():
		return
	if frappe.db.get_single_value("Event Streaming Settings", "allow_any_condition_function"):
		return
	frappe.throw(
		_(
			"The condition function {0} is not registered by any installed app. An app registers it in "
			"the {1} hook of its hooks.py."
		).format(frappe.bold(path), frappe.bold(CONDITION_HOOK)),
		exc=ConditionNotAllowed,
		title=_("Condition Not Allowed"),
	)


def is_satisfied(condition: str | None, doc, consumer, log: dict) -> bool:
	"""Does ``doc`` (the current document) pass the condition for this consumer? The condition
	sees read-only copies of the document, the consumer (without its keys) and the log."""
	condition = (condition or "").strip()
	if not condition:
		return True
	document = doc if isinstance(doc, ReadOnlyDocument) else read_only_copy(doc)
	path = function_path(condition)
	if path:
		validate_condition(condition)
		return bool(
			frappe.call(
				path,
				consumer=consumer_copy(consumer),
				doc=document,
				update_log=ReadOnlyDocument(dict(log)),
			)
		)
	return bool(frappe.safe_eval(condition, None, {"doc": document}))


def consumer_copy(consumer) -> ReadOnlyDocument:
	values = consumer.as_dict() if hasattr(consumer, "as_dict") else dict(consumer)
	values.pop("api_key", None)
	values.pop("api_secret", None)
	return ReadOnlyDocument(values)
