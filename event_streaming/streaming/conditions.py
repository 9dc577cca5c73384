# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Subscription conditions, evaluated on the producer when the feed is served.

A condition is either a ``safe_eval`` expression with ``doc`` in scope (``doc.public == 1``) or
``cmd:<dotted path>``. A consumer writes conditions, so a ``cmd:`` path must be registered by an
installed app in the ``event_streaming_conditions`` hook; the original's call-anything behaviour
only comes back through the "Allow Any cmd: Function" setting, which is off by default.
"""

import frappe
from frappe import _

CONDITION_HOOK = "event_streaming_conditions"


class ConditionNotAllowed(frappe.ValidationError):
	pass


def function_path(condition: str | None) -> str | None:
	"""The dotted path of a ``cmd:`` condition, or None for an expression or no condition."""
	condition = (condition or "").strip()
	if not condition.startswith("cmd:"):
		return None
	return condition[len("cmd:") :].strip()


def registered_functions() -> set[str]:
	return set(frappe.get_hooks(CONDITION_HOOK) or [])


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
	"""Does ``doc`` (the current document) pass the condition for this consumer?"""
	condition = (condition or "").strip()
	if not condition:
		return True
	path = function_path(condition)
	if path:
		validate_condition(condition)
		return bool(frappe.call(path, consumer=consumer, doc=doc, update_log=log))
	return bool(frappe.safe_eval(condition, None, {"doc": doc}))
