# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document


class EventSyncLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		data: DF.Code | None
		docname: DF.Data | None
		error: DF.Code | None
		event_producer: DF.Data | None
		mapping: DF.Data | None
		next_retry_at: DF.Datetime | None
		producer_doc: DF.Data | None
		ref_doctype: DF.Link | None
		retry_count: DF.Int
		sequence: DF.Int
		status: DF.Literal["", "Synced", "Failed"]
		update_log: DF.Data | None
		update_type: DF.Literal["Create", "Update", "Delete"]
		use_same_name: DF.Check
	# end: auto-generated types

	@staticmethod
	def clear_old_logs(days: int = 30):
		"""Log Settings retention: synced rows older than ``days``; failed rows stay until resolved."""
		from frappe.query_builder import Interval
		from frappe.query_builder.functions import Now

		log = frappe.qb.DocType("Event Sync Log")
		frappe.db.delete(
			log, filters=(log.creation < (Now() - Interval(days=days))) & (log.status == "Synced")
		)


def on_doctype_update():
	frappe.db.add_index("Event Sync Log", ["event_producer", "update_log"])
	frappe.db.add_index("Event Sync Log", ["event_producer", "status", "producer_doc"])
