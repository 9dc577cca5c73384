# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Every stream of this site in one table: the producers it follows and the consumers following it."""

import frappe
from frappe import _
from frappe.utils import escape_html

from event_streaming.streaming import health


def execute(filters: dict | None = None) -> tuple[list[dict], list[dict]]:
	frappe.only_for("System Manager")
	rows = health.all_peers()
	for row in rows:
		row["side"] = _("Follows producer") if row["side"] == "Consumer" else _("Followed by consumer")
		row["oldest_unapplied"] = health.format_age(row.pop("oldest_unapplied_seconds"))
		row["status_key"] = row["status"]
		row["status"] = _(row["status"])
		# peer-supplied texts: the report grid renders Data cells as HTML
		row["peer"] = escape_html(row["peer"])
		row["last_error"] = (
			escape_html(health.error_summary(row["last_error"])) if row["last_error"] else None
		)
	return columns(), rows


def columns() -> list[dict]:
	return [
		{"fieldname": "side", "label": _("Role"), "fieldtype": "Data", "width": 160},
		{"fieldname": "peer", "label": _("Peer"), "fieldtype": "Data", "width": 260},
		{"fieldname": "status", "label": _("Status"), "fieldtype": "Data", "width": 130},
		{"fieldname": "position", "label": _("Position"), "fieldtype": "Int", "width": 90},
		{"fieldname": "head", "label": _("Producer Head"), "fieldtype": "Int", "width": 110},
		{"fieldname": "behind", "label": _("Behind / Backlog"), "fieldtype": "Int", "width": 130},
		{"fieldname": "oldest_unapplied", "label": _("Oldest Unapplied"), "fieldtype": "Data", "width": 130},
		{"fieldname": "failed", "label": _("Failures"), "fieldtype": "Int", "width": 90},
		{
			"fieldname": "last_contact",
			"label": _("Last Pull / Notification"),
			"fieldtype": "Datetime",
			"width": 170,
		},
		{"fieldname": "last_error", "label": _("Last Error"), "fieldtype": "Data", "width": 320},
	]
