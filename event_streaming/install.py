# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Install and uninstall steps: install sets up the Event Streaming Subscriber role and the Event
Producer list's columns (patches do the same on sites that had the app before); uninstall removes
them and the custom fields the app added to other DocTypes for local naming (remote_docname,
remote_site_name)."""

import frappe

from event_streaming.streaming import capture
from event_streaming.streaming.registration import SUBSCRIBER_ROLE

NAMING_FIELDS = ("remote_docname", "remote_site_name")


def after_install():
	set_up_subscriber_role()
	show_producer_list_columns()
	capture.clear_streamed_cache()


def set_up_subscriber_role():
	"""The least-privilege role for consumers' users on a producer: it may register and read and
	write only the Event Consumers it owns (Event Consumer's permissions). Without desk access, so
	a user holding only this role is an API-only Website User. Syncing the DocType creates the role
	with desk access; this runs once (install or patch), so an administrator's later choice stays."""
	if frappe.db.exists("Role", SUBSCRIBER_ROLE):
		role = frappe.get_doc("Role", SUBSCRIBER_ROLE)
	else:
		role = frappe.new_doc("Role")
		role.role_name = SUBSCRIBER_ROLE
	role.desk_access = 0
	role.save(ignore_permissions=True)


def show_producer_list_columns():
	"""Desk shows only four list columns on a laptop's screen by default: ID, tags, status and one
	field. Operators need last pull, lag and error beside the status, so the Event Producer list
	starts with six; an administrator's own List View Settings are left alone."""
	if not frappe.db.exists("List View Settings", "Event Producer"):
		settings = frappe.new_doc("List View Settings")
		settings.name = "Event Producer"
		settings.total_fields = "6"
		settings.insert(ignore_permissions=True)


def before_uninstall():
	for name in frappe.get_all("Custom Field", filters={"fieldname": ("in", NAMING_FIELDS)}, pluck="name"):
		frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
	if frappe.db.exists("Role", SUBSCRIBER_ROLE):
		frappe.db.delete("Has Role", {"role": SUBSCRIBER_ROLE})
		frappe.delete_doc("Role", SUBSCRIBER_ROLE, ignore_permissions=True, force=True)
	frappe.db.delete("List View Settings", {"name": "Event Producer"})
	capture.clear_streamed_cache()
