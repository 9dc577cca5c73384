# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Serve the change feed on the producer, in commit order.

Every Event Update Log gets a ``sequence`` (0 until then) once its transaction has committed: numbering runs under
a site-wide lock and skips rows still locked by open transactions, so a log committed late is
numbered after everything already served and a consumer that has read up to N never later sees a
new log at or below N. The v2 feed pages by sequence and never writes; the consumer acknowledges
separately. The v1 feed keeps the original's shape and crash safety for original consumers: every
log after the consumer's ``last_update`` (again, if it asks again from there), plus logs behind it
that committed late and were never served; what it serves is marked as served, as they expect.
"""

import hashlib

import frappe
from frappe import _
from frappe.query_builder.functions import Max

from event_streaming.streaming import conditions, cursor, jobs, payload, trust

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 2000
# documents per get_documents call (a consumer asks per DocType, in batches)
MAX_DOCUMENTS = 500
# an acknowledgement names the logs of one page, history of conditional documents included
MAX_DELIVERED = 20 * MAX_PAGE_SIZE
MAX_SEQUENCE = 2**31 - 1  # sequence is an Int column
SETTINGS = "Event Streaming Settings"
FEED_FIELDS = ("name", "update_type", "ref_doctype", "docname", "data", "creation", "sequence")


class FeedAccessDenied(frappe.PermissionError):
	pass


class InvalidRequest(frappe.ValidationError):
	"""A caller sent arguments we cannot read: a clear 417, never a traceback."""


def name_list_argument(value, what: str, limit: int) -> list[str]:
	"""A list-of-names argument of a whitelisted method, or a clear error saying what is wrong."""
	try:
		return payload.parse_name_list(value, what, limit)
	except payload.PayloadError as error:
		frappe.throw(_("Invalid request: {0}").format(str(error)), exc=InvalidRequest)


def sequence_argument(value, what: str) -> int:
	"""A feed position (0 or more) given by a caller."""
	try:
		number = int(value or 0)
	except (TypeError, ValueError):
		frappe.throw(_("Invalid request: {0} must be a whole number.").format(what), exc=InvalidRequest)
	return max(0, min(number, MAX_SEQUENCE))


def assign_sequences() -> int:
	"""Number committed, unnumbered logs in creation order; return how many were numbered."""
	frappe.db.commit()  # nosemgrep: start a fresh snapshot so the max sequence read below is current
	with jobs.exclusive("sequence", wait=30) as acquired:
		if not acquired:
			return 0
		if frappe.db.db_type == "postgres":
			# the statement that took the lock began a snapshot, maybe before the last holder
			# committed its numbers (MariaDB's GET_LOCK reads no table and begins none)
			frappe.db.commit()  # nosemgrep
		log = frappe.qb.DocType("Event Update Log")
		# Rows an open transaction still holds are skipped: they get numbers once they commit.
		names = (
			frappe.qb.from_(log)
			.select(log.name)
			.where(log.sequence == 0)  # Int columns default to 0: 0 means not numbered yet
			.orderby(log.creation)
			.orderby(log.name)
			.for_update(skip_locked=True)
			.run(pluck=True)
		)
		if names:
			# the high-water mark, not just the newest remaining log: numbers never go back below a
			# consumer's cursor, whatever logs were deleted
			top = max(
				frappe.qb.from_(log).select(Max(log.sequence)).run()[0][0] or 0,
				int(frappe.db.get_single_value(SETTINGS, "sequence_high_water", cache=False) or 0),
			)
			for start in range(0, len(names), 1000):
				# one statement per thousand logs: a long backlog is numbered within the request
				number_in_order(names[start : start + 1000], top + start)
			frappe.db.set_single_value(
				SETTINGS, "sequence_high_water", top + len(names), update_modified=False
			)
		frappe.db.commit()  # nosemgrep: numbering is its own transaction, visible to every reader
	return len(names)


def number_in_order(names: list[str], after: int) -> None:
	"""Number the logs ``names`` after + 1, after + 2, ... in creation order, in one statement."""
	if frappe.db.db_type == "postgres":
		frappe.db.sql(
			"""UPDATE "tabEvent Update Log" AS log SET sequence = numbered.sequence
			FROM (
				SELECT name, CAST(%(after)s AS bigint) + row_number() OVER (ORDER BY creation, name) AS sequence
				FROM "tabEvent Update Log" WHERE name IN %(names)s
			) AS numbered
			WHERE log.name = numbered.name""",
			{"after": after, "names": tuple(names)},
		)  # nosemgrep: a window function in UPDATE ... FROM has no query builder form
		return
	frappe.db.sql("SET @event_streaming_sequence = %s", (after,))  # nosemgrep
	frappe.db.sql(
		"""UPDATE `tabEvent Update Log`
		SET sequence = (@event_streaming_sequence := @event_streaming_sequence + 1)
		WHERE name IN %(names)s ORDER BY creation, name""",
		{"names": tuple(names)},
	)  # nosemgrep: user variables have no query builder form


def get_consumer_for_caller(event_consumer: str):
	"""The Event Consumer named ``event_consumer``, if the caller is its registered user. One answer
	for an unknown consumer and for another user's, so that nobody learns which consumers exist."""
	name = (event_consumer or "").rstrip("/")
	user = frappe.db.get_value("Event Consumer", name, "user") if name else None
	if not user or user != frappe.session.user:
		frappe.throw(
			_("No Event Consumer for {0} is registered with your user ({1}).").format(
				name, frappe.session.user
			),
			exc=FeedAccessDenied,
		)
	return frappe.get_doc("Event Consumer", name)


def subscriptions(consumer) -> dict[str, str | None]:
	"""Approved, still subscribed DocTypes of a consumer, each with its condition."""
	return {
		row.ref_doctype: (row.condition or None)
		for row in consumer.consumer_doctypes
		if row.status == "Approved" and not row.unsubscribed
	}


def get_page(consumer, after: int, limit: int | None = None) -> dict:
	"""v2: the consumer's next page of logs after ``after``: ``{logs, next_cursor, has_more}``."""
	limit = max(1, min(sequence_argument(limit, "limit") or page_size(), MAX_PAGE_SIZE))
	after = sequence_argument(after, "after")
	subscribed = subscriptions(consumer)
	if not subscribed:
		return {"logs": [], "next_cursor": after, "has_more": False}

	assign_sequences()
	log = frappe.qb.DocType("Event Update Log")
	rows = (
		frappe.qb.from_(log)
		.select(*[log[field] for field in FEED_FIELDS])
		.where(log.sequence > after)
		.where(log.ref_doctype.isin(list(subscribed)))
		.where(log.origin_site.isnull() | (log.origin_site != consumer.callback_url))
		.orderby(log.sequence)
		.limit(limit + 1)
		.run(as_dict=True)
	)
	has_more = len(rows) > limit
	rows = rows[:limit]
	next_cursor = rows[-1].sequence if rows else after
	logs = filter_by_conditions(consumer, rows, subscribed, only_unmarked_history=True)
	return {"logs": [as_feed_row(row) for row in logs], "next_cursor": next_cursor, "has_more": has_more}


def get_logs_since(consumer, doctypes: list[str], last_update: str | None) -> list[dict]:
	"""v1: what the original serves, every log after ``last_update``, again each time the consumer
	asks from there (one killed between fetching and applying asks again and loses nothing), plus
	logs at or before it that committed late and were never served to it. Oldest first; what is
	served is marked as served to the consumer."""
	subscribed = subscriptions(consumer)
	wanted = [doctype for doctype in doctypes if doctype in subscribed]
	if not wanted:
		return []
	watermark = v1_watermark_argument(last_update)
	log = frappe.qb.DocType("Event Update Log")
	mark = frappe.qb.DocType("Event Update Log Consumer")
	served = frappe.qb.from_(mark).select(mark.parent).where(mark.consumer == consumer.name)
	not_served = log.name.notin(served)
	query = (
		frappe.qb.from_(log)
		.select(*[log[field] for field in FEED_FIELDS])
		.where(log.ref_doctype.isin(wanted))
		.where(log.creation > consumer.creation)
		.where(log.origin_site.isnull() | (log.origin_site != consumer.callback_url))
		.where(not_served if watermark is None else ((log.creation > watermark) | not_served))
		.orderby(log.creation)
		.orderby(log.name)
	)
	rows = query.run(as_dict=True)
	logs = filter_by_conditions(consumer, rows, subscribed, only_unmarked_history=False)
	mark_served(consumer.name, [row.name for row in logs])
	return [as_feed_row(row, with_sequence=False) for row in logs]


def v1_watermark_argument(value):
	"""An original consumer's ``last_update`` (a creation timestamp text), or None if it sent none."""
	if value in (None, ""):
		return None
	moment = cursor.parse_timestamp(value) if isinstance(value, str) else None
	if moment is None:
		frappe.throw(_("Invalid request: last_update must be a date and time."), exc=InvalidRequest)
	return moment


def filter_by_conditions(consumer, rows: list, subscribed: dict, only_unmarked_history: bool) -> list:
	"""Drop rows whose condition the current document fails; when a document passes, put back
	the earlier logs of it this consumer missed (once: they are marked when acknowledged)."""
	result = []
	delivered_docs = set()
	included = set()
	current_docs = {}
	for row in rows:
		condition = subscribed.get(row.ref_doctype)
		key = (row.ref_doctype, row.docname)
		if condition and not passes(consumer, row, condition, current_docs, delivered_docs):
			continue
		if condition and only_unmarked_history and key not in delivered_docs:
			for missed in missed_history(consumer, row):
				if missed.name not in included:
					result.append(missed)
					included.add(missed.name)
		if row.name not in included:
			result.append(row)
			included.add(row.name)
		delivered_docs.add(key)
	return result


def passes(consumer, row, condition: str, current_docs: dict, delivered_docs: set) -> bool:
	key = (row.ref_doctype, row.docname)
	if key not in current_docs:
		exists = frappe.db.exists(row.ref_doctype, row.docname)
		# conditions see a read-only copy: judging a document must never change it
		current_docs[key] = (
			conditions.read_only_copy(frappe.get_doc(row.ref_doctype, row.docname)) if exists else None
		)
	doc = current_docs[key]
	if doc is None:
		# The document is gone: send its Delete only to consumers that received the document.
		return key in delivered_docs or was_served(consumer.name, row)
	# a cmd: condition may run SQL: on PostgreSQL a failed statement aborts the whole transaction,
	# so it is evaluated inside a savepoint the failure is rolled back to
	savepoint = "event_streaming_condition"
	frappe.db.savepoint(savepoint)
	try:
		satisfied = conditions.is_satisfied(condition, doc, consumer, row)
	except Exception as error:
		frappe.db.rollback(save_point=savepoint)
		# a broken condition skips the log for this consumer and never stalls its feed
		report_failed_condition(consumer.name, condition, row, error)
		return False
	frappe.db.release_savepoint(savepoint)
	return satisfied


def report_failed_condition(consumer_name: str, condition: str, row, error: Exception) -> None:
	"""One Error Log per consumer and condition a day: the error and the condition, no traceback
	(its frames hold the document and the consumer)."""
	digest = hashlib.sha1(f"{consumer_name}\n{condition}".encode()).hexdigest()
	cache_key = frappe.cache.make_key(f"event_streaming::failed_condition::{digest}")
	# set-if-absent: one Error Log even when several workers serve the feed at once
	if not frappe.cache.set(cache_key, 1, ex=24 * 3600, nx=True):
		return
	frappe.log_error(
		title=_("Event Streaming: condition failed for {0}").format(consumer_name),
		message=_(
			"The condition of {0} for {1} could not be evaluated on {2} {3}, so this consumer is not "
			"sent that change. Logs of the same failure are held back for a day.\n\n"
			"Condition: {4}\nError: {5}: {6}"
		).format(
			consumer_name,
			row.ref_doctype,
			row.ref_doctype,
			row.docname,
			condition,
			type(error).__name__,
			str(error)[:500],
		),
		reference_doctype="Event Consumer",
		reference_name=consumer_name,
	)


def was_served(consumer_name: str, row) -> bool:
	log = frappe.qb.DocType("Event Update Log")
	mark = frappe.qb.DocType("Event Update Log Consumer")
	found = (
		frappe.qb.from_(log)
		.join(mark)
		.on(mark.parent == log.name)
		.select(log.name)
		.where(log.ref_doctype == row.ref_doctype)
		.where(log.docname == row.docname)
		.where(log.creation < row.creation)
		.where(mark.consumer == consumer_name)
		.limit(1)
		.run()
	)
	return bool(found)


def missed_history(consumer, row) -> list:
	"""Earlier logs of the row's document, after the consumer registered, never served to it."""
	log = frappe.qb.DocType("Event Update Log")
	mark = frappe.qb.DocType("Event Update Log Consumer")
	served = frappe.qb.from_(mark).select(mark.parent).where(mark.consumer == consumer.name)
	return (
		frappe.qb.from_(log)
		.select(*[log[field] for field in FEED_FIELDS])
		.where(log.ref_doctype == row.ref_doctype)
		.where(log.docname == row.docname)
		.where(log.sequence < row.sequence)
		.where(log.creation > consumer.creation)
		.where(log.name.notin(served))
		.orderby(log.sequence)
		.run(as_dict=True)
	)


def acknowledge(consumer, cursor: int, delivered: list[str]) -> int:
	"""Record that the consumer applied everything up to ``cursor``; mark conditional deliveries."""
	log = frappe.qb.DocType("Event Update Log")
	conditional = {doctype for doctype, condition in subscriptions(consumer).items() if condition}
	if delivered and conditional:
		names = (
			frappe.qb.from_(log)
			.select(log.name)
			.where(log.name.isin(list(delivered)))
			.where(log.ref_doctype.isin(list(conditional)))
			.run(pluck=True)
		)
		mark_served(consumer.name, names)
	# never beyond the newest numbered log: retention trusts this number
	newest = frappe.qb.from_(log).select(Max(log.sequence)).run()[0][0] or 0
	wanted = min(sequence_argument(cursor, "cursor"), newest)
	result = {}

	def write():
		# read again on every try: a concurrent acknowledgement may have gone further
		earlier = frappe.db.get_value("Event Consumer", consumer.name, "last_acked_sequence")
		result["acked"] = max(int(earlier or 0), wanted)
		frappe.db.set_value(
			"Event Consumer", consumer.name, "last_acked_sequence", result["acked"], update_modified=False
		)

	jobs.write_status(write)
	return result["acked"]


def mark_served(consumer_name: str, log_names: list[str]) -> None:
	if not log_names:
		return
	mark = frappe.qb.DocType("Event Update Log Consumer")
	already = set(
		frappe.qb.from_(mark)
		.select(mark.parent)
		.where(mark.consumer == consumer_name)
		.where(mark.parent.isin(log_names))
		.run(pluck=True)
	)
	now = frappe.utils.now()
	user = frappe.session.user
	rows = [
		(
			frappe.generate_hash(length=10),
			name,
			"Event Update Log",
			"consumers",
			1,
			consumer_name,
			now,
			now,
			user,
			user,
		)
		for name in log_names
		if name not in already
	]
	if rows:
		frappe.db.bulk_insert(
			"Event Update Log Consumer",
			fields=[
				"name", "parent", "parenttype", "parentfield", "idx", "consumer",
				"creation", "modified", "owner", "modified_by",
			],
			values=rows,
		)  # fmt: skip


def latest_position() -> dict:
	"""Where a consumer registering now starts: the newest log's creation and sequence."""
	assign_sequences()
	log = frappe.qb.DocType("Event Update Log")
	row = frappe.qb.from_(log).select(Max(log.creation), Max(log.sequence)).run()[0]
	return {
		"last_update": str(row[0] or frappe.utils.now_datetime()),
		"last_sequence": int(row[1] or 0),
	}


def as_feed_row(row, with_sequence: bool = True) -> dict:
	result = {
		"update_type": row.update_type,
		"ref_doctype": row.ref_doctype,
		"docname": row.docname,
		"data": row.data,
		"name": row.name,
		"creation": str(row.creation),
	}
	if with_sequence:
		result["sequence"] = row.sequence
	return result


def page_size() -> int:
	return frappe.db.get_single_value("Event Streaming Settings", "feed_page_size") or DEFAULT_PAGE_SIZE


# --- documents for dependency syncing -------------------------------------------------------


def check_servable_doctype(doctype: str) -> None:
	"""Documents are served on their own only for ordinary DocTypes: never privilege-bearing ones
	(roles, permissions, credentials, code), Singles or child tables."""
	if not doctype or not isinstance(doctype, str) or not frappe.db.exists("DocType", doctype):
		frappe.throw(
			_("Invalid request: {0} is not a DocType.").format(str(doctype)[:140]), exc=InvalidRequest
		)
	meta = frappe.get_meta(doctype)
	if trust.is_privileged(doctype) or meta.istable or meta.issingle or meta.is_virtual:
		frappe.throw(
			_("{0} documents are not served to other sites.").format(frappe.bold(doctype)),
			frappe.PermissionError,
		)


def serve_documents(doctype: str, names: list[str]) -> list[dict]:
	"""The documents the caller may read, each as it may read it: field-level permissions applied,
	credentials and privilege-bearing fields and tables removed."""
	documents = []
	for name in names:
		if not frappe.db.exists(doctype, name):
			continue
		doc = frappe.get_doc(doctype, name)
		if not doc.has_permission("read"):
			continue
		doc.apply_fieldlevel_read_permissions()
		documents.append(without_secrets(doc.meta, doc.as_dict(no_nulls=True, convert_dates_to_str=True)))
	return documents


def without_secrets(meta, values: dict) -> dict:
	"""``values`` of a ``meta`` document without credentials, privileges or privilege-bearing tables
	(in its rows too)."""
	dropped = {df.fieldname for df in meta.fields if trust.is_secret_field(df.fieldname, df.fieldtype)}
	tables = {}
	for df in meta.get_table_fields():
		if trust.is_privileged(df.options):
			dropped.add(df.fieldname)
		else:
			tables[df.fieldname] = frappe.get_meta(df.options)
	clean = {
		key: value
		for key, value in trust.strip_privileged_fields(meta.name, values).items()
		if key not in dropped
	}
	for fieldname, row_meta in tables.items():
		if isinstance(clean.get(fieldname), list):
			clean[fieldname] = [
				without_secrets(row_meta, row) if isinstance(row, dict) else row for row in clean[fieldname]
			]
	return clean
