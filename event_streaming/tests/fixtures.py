# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Functions the test suite names in ``cmd:`` conditions; registered in hooks.py so the
producer accepts them (unregistered functions are refused)."""


def can_sync_note(consumer, doc, update_log) -> bool:
	return bool(doc.get("public"))
