# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Act as another user for a while, and give the caller back exactly the session it had.

``frappe.set_user`` rewrites the current session object in place: its ``sid`` becomes the user name
and its ``data`` (with a Desk session's CSRF token) is emptied. In a web request (Pull Now, Resync)
that object is the one Frappe saves at the end of the request, so switching back with
``set_user`` leaves the browser with a session that no longer matches its CSRF token. Here the
acting user gets a session object of its own, and the caller's objects are put back untouched.
"""

from contextlib import contextmanager

import frappe

# what frappe.set_user resets because it depends on the user (see frappe.set_user)
_USER_STATE = ("user_perms", "role_permissions", "new_doc_templates", "cache", "jenv")
_ABSENT = object()


@contextmanager
def acting_as(user: str):
	"""Run the block as ``user``; afterwards the caller's session and per-user caches are restored."""
	local = frappe.local
	saved_session = getattr(local, "session", _ABSENT)
	saved_state = {name: getattr(local, name, _ABSENT) for name in _USER_STATE}
	local.session = frappe._dict(user=user, sid=user, data=frappe._dict())
	local.user_perms = None
	local.role_permissions = {}
	local.new_doc_templates = {}
	local.cache = {}
	local.jenv = None
	try:
		yield
	finally:
		for name, value in (("session", saved_session), *saved_state.items()):
			if value is _ABSENT:
				if hasattr(local, name):
					delattr(local, name)
			else:
				setattr(local, name, value)
