# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Install and uninstall steps: nothing is created on install; uninstall removes the custom
fields the app added to other DocTypes for local naming (remote_docname, remote_site_name)."""

import frappe

from event_streaming.streaming import capture

NAMING_FIELDS = ("remote_docname", "remote_site_name")


def after_install():
	capture.clear_streamed_cache()


def before_uninstall():
	for name in frappe.get_all("Custom Field", filters={"fieldname": ("in", NAMING_FIELDS)}, pluck="name"):
		frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)
	capture.clear_streamed_cache()
