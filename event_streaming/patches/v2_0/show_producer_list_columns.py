# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Sites that had the app before get the Event Producer list's last pull, lag and error columns."""

from event_streaming.install import show_producer_list_columns


def execute():
	show_producer_list_columns()
