# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Install and uninstall steps: install sets up the Event Streaming Subscriber role (a patch does
the same on sites that had the app before); uninstall removes that role and the custom fields the
app added to other DocTypes for local naming (remote_docname, remote_site_name)."""

import frappe

from event_streaming.streaming import capture
from event_streaming.streaming.registration import SUBSCRIBER_ROLE

NAMING_FIELDS = ("remote_docname", "remote_site_name")


def after_install():
	set_up_subscriber_role()
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


def before_uninstall():
	for name in frappe.get_all("Custom Field", filters={"fieldname": ("in", NAMING_FIELDS)}, pluck="name"):
		frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
	if frappe.db.exists("Role", SUBSCRIBER_ROLE):
		frappe.db.delete("Has Role", {"role": SUBSCRIBER_ROLE})
		frappe.delete_doc("Role", SUBSCRIBER_ROLE, ignore_permissions=True, force=True)
	capture.clear_streamed_cache()
