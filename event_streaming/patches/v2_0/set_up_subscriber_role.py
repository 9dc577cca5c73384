# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Sites that had the app before the Event Streaming Subscriber role existed get it configured."""

from event_streaming.install import set_up_subscriber_role


def execute():
	set_up_subscriber_role()
