# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""In-place upgrade from the original (archived) app: its data stays, and nothing is applied twice.

Producer role: logs written by the original have no ``sequence``; they are numbered in creation
order (what the v2 feed pages by). Consumer role: an Event Producer the original created has a blank
protocol: it is set to v1, and the first pull asks the producer again (see pull.refresh_protocol),
switching to v2 once the producer is upgraded too. Its watermark is kept as ``original_watermark``:
the original applied every log up to it, and its Event Sync Logs do not name the logs, so the v1
overlap window (and the switch to v2) never re-reads below it.
"""

import frappe

from event_streaming.streaming import feed


def execute():
	number_original_update_logs()
	mark_original_event_producers()


def number_original_update_logs() -> None:
	if frappe.db.exists("Event Update Log", {"sequence": 0}):
		feed.assign_sequences()


def mark_original_event_producers() -> None:
	producers = frappe.get_all(
		"Event Producer",
		filters={"protocol_version": ("is", "not set")},
		pluck="name",
	)
	for name in producers:
		position = frappe.db.get_value(
			"Event Producer Last Update",
			{"event_producer": name},
			["name", "last_update", "original_watermark"],
			as_dict=True,
		)
		if position and position.last_update and not position.original_watermark:
			frappe.db.set_value(
				"Event Producer Last Update",
				position.name,
				"original_watermark",
				position.last_update,
				update_modified=False,
			)
		frappe.db.set_value("Event Producer", name, "protocol_version", "v1", update_modified=False)
