# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document

from event_streaming.streaming import feed


class EventUpdateLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from event_streaming.event_streaming.doctype.event_update_log_consumer.event_update_log_consumer import (
			EventUpdateLogConsumer,
		)

		consumers: DF.TableMultiSelect[EventUpdateLogConsumer]
		data: DF.Code | None
		docname: DF.Data | None
		origin_site: DF.Data | None
		ref_doctype: DF.Link | None
		sequence: DF.Int
		update_type: DF.Literal["Create", "Update", "Delete"]
	# end: auto-generated types

	@staticmethod
	def clear_old_logs(days: int = 90):
		"""Log Settings retention: numbered logs older than ``days`` that every v2 consumer acknowledged."""
		from frappe.query_builder import Interval
		from frappe.query_builder.functions import Max, Now

		log = frappe.qb.DocType("Event Update Log")
		# v2 consumers hold logs they have not acknowledged; v1 consumers never acknowledge
		acked = frappe.get_all(
			"Event Consumer", filters={"last_acked_sequence": (">", 0)}, pluck="last_acked_sequence"
		)
		query = (
			frappe.qb.from_(log)
			.select(log.name)
			.where(log.creation < (Now() - Interval(days=days)))
			.where(log.sequence > 0)
		)
		# the newest numbered log stays: numbering continues from it, so consumers' cursors stay valid
		query = query.where(log.sequence < frappe.qb.from_(log).select(Max(log.sequence)))
		if acked:
			query = query.where(log.sequence <= min(int(value or 0) for value in acked))
		names = query.run(pluck=True)
		for start in range(0, len(names), 1000):
			batch = names[start : start + 1000]
			frappe.db.delete("Event Update Log Consumer", {"parent": ("in", batch)})
			frappe.db.delete("Event Update Log", {"name": ("in", batch)})


def on_doctype_update():
	frappe.db.add_index("Event Update Log", ["ref_doctype", "docname", "creation"])
	frappe.db.add_index("Event Update Log", ["creation"])


@frappe.whitelist(methods=["POST"])
def get_update_logs_for_consumer(
	event_consumer: str, doctypes: list[str] | str, last_update: str | None = None
) -> list[dict]:
	"""v1 feed for original consumers: every log after ``last_update`` plus late ones behind it never
	served, oldest first. Only the consumer's registered user; marks what it serves as served to
	that consumer."""
	consumer = feed.get_consumer_for_caller(event_consumer)
	doctypes = feed.name_list_argument(doctypes, "doctypes", feed.MAX_DOCUMENTS)
	return feed.get_logs_since(consumer, doctypes, last_update)


def notify_consumers(doc, event: str | None = None) -> None:
	"""The original's doc_events path, for other apps' hooks that still name it: capture the change."""
	from event_streaming.streaming import capture

	capture.capture(doc, event)
