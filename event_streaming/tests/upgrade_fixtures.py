# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Run on the producer by `bench execute` (tests/test_upgrade.py): turn logs into what the original
app left behind, so the upgrade patch can be run over them."""

import json

import frappe


def make_logs_original(log_names: str, consumer: str) -> None:
	"""The original numbered nothing, and marked every log it served with a consumer row."""
	from event_streaming.streaming import feed

	names = json.loads(log_names)
	log = frappe.qb.DocType("Event Update Log")
	frappe.qb.update(log).set(log.sequence, 0).where(log.name.isin(names)).run()
	feed.mark_served(consumer, names)


def run_upgrade_patch() -> None:
	from event_streaming.patches.v2_0 import upgrade_from_original

	upgrade_from_original.execute()


def run_original_jobs(consumer: str) -> None:
	"""Run the jobs the original app queued on a producer, by its paths and with its arguments."""
	frappe.set_user("Administrator")
	base = "event_streaming.event_streaming.doctype.event_consumer.event_consumer."
	frappe.get_attr(base + "notify_event_consumers")(doctype="ToDo")
	frappe.get_attr(base + "notify")(consumer=frappe.get_doc("Event Consumer", consumer))
