# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Capture committed changes as Event Update Logs (the producer's outbox).

Every doc event of every DocType lands here, so the fast path must stay cheap: flags first, then
one cached set lookup. A log is inserted inside the user's transaction, so a rolled-back save leaves
no log and a committed save always has one. Capture never fails the user's save: a missing
before-image logs the full scalar state, and any other error is recorded in Error Log.
"""

import frappe
from frappe.model import no_value_fields, table_fields
from frappe.utils import now_datetime

from event_streaming.streaming import diff as diffing
from event_streaming.streaming import trust

STREAMED_DOCTYPES_KEY = "event_streaming::streamed_doctypes"

# Our own DocTypes and framework bookkeeping can never be streamed: logging a log recurses.
NEVER_STREAMED = frozenset(
	{
		"Event Update Log",
		"Event Update Log Consumer",
		"Event Consumer",
		"Event Consumer Document Type",
		"Event Producer",
		"Event Producer Document Type",
		"Event Producer Last Update",
		"Event Sync Log",
		"Document Type Mapping",
		"Document Type Field Mapping",
		"Event Streaming Settings",
		"Version",
		"Error Log",
		"Activity Log",
		"Access Log",
		"Route History",
		"Scheduled Job Log",
		"Deleted Document",
		"Comment",
		"Communication",
		"Email Queue",
		"Email Queue Recipient",
		"Notification Log",
		"RQ Job",
		"RQ Worker",
		"Submission Queue",
		"Console Log",
		"Prepared Report",
		"Transaction Log",
		"Integration Request",
		"Webhook Request Log",
		"DocType",
		"DocField",
		"Custom Field",
		"Property Setter",
		"Sessions",
		"Singles",
	}
)


def is_streamable(doctype: str) -> bool:
	if doctype in NEVER_STREAMED:
		return False
	meta = frappe.get_meta(doctype)
	return not (meta.istable or meta.issingle or meta.is_virtual)


def get_streamed_doctypes() -> frozenset:
	"""DocTypes with at least one approved, subscribed consumer (cached; see clear_streamed_cache)."""
	# the cache also keeps a per-request copy, so this is a dict lookup after the first save
	return frappe.cache.get_value(STREAMED_DOCTYPES_KEY, generator=_load_streamed_doctypes) or frozenset()


def _load_streamed_doctypes() -> frozenset[str]:
	if not frappe.db.table_exists("Event Consumer Document Type"):
		return frozenset()
	row = frappe.qb.DocType("Event Consumer Document Type")
	return frozenset(
		frappe.qb.from_(row)
		.select(row.ref_doctype)
		.distinct()
		.where((row.status == "Approved") & (row.unsubscribed == 0))
		.run(pluck=True)
	)


def clear_streamed_cache() -> None:
	"""Forget the streamed set now and once more after commit: a request that reloads it in between
	(a save on another worker while this transaction is still open) would otherwise cache the state
	from before this change until the next one, and changes to a newly approved DocType would go
	uncaptured."""
	forget_streamed_doctypes()
	once_after_commit(forget_streamed_doctypes)


def forget_streamed_doctypes() -> None:
	frappe.cache.delete_value(STREAMED_DOCTYPES_KEY)


def is_captured(doctype: str) -> bool:
	"""The hot path of every save: flags, then one cached set lookup; no query once warm."""
	flags = frappe.flags
	if flags.in_install or flags.in_migrate or flags.in_patch or flags.in_uninstall:
		return False
	return doctype not in NEVER_STREAMED and doctype in get_streamed_doctypes()


def capture(doc, method: str | None = None) -> None:
	"""doc_events handler for every DocType (registered for "*" in hooks.py)."""
	if not is_captured(doc.doctype):
		return
	if method in ("on_update", "on_submit") and doc.flags.in_insert:
		# the Create snapshot written by after_insert already holds this state
		return
	if method == "on_update" and getattr(doc, "_action", None) == "submit":
		# logged by on_submit, once the submit hooks have run
		return

	isolated(lambda: _write_log_for(doc, method), doc, method)


def _write_log_for(doc, method: str) -> None:
	if method == "after_insert":
		insert_log("Create", doc, snapshot_of(doc))
	elif method == "on_trash":
		insert_log("Delete", doc, None)
	elif method == "after_rename":
		return  # logged by on_rename, which knows the old name
	else:
		update = diff_of(doc)
		if update:
			insert_log("Update", doc, update)


def capture_rename(doc, method: str, old_name: str, new_name: str, merge: bool = False) -> None:
	"""after_rename handler: an Update under the old name carrying an extra ``rename`` key.

	Original consumers apply it as an empty update to the old name (harmless); ours rename.
	"""
	if not is_captured(doc.doctype):
		return
	data = diffing.empty_diff()
	data["rename"] = {"old_name": old_name, "new_name": new_name, "merge": bool(merge)}
	isolated(lambda: insert_log("Update", doc, data, docname=old_name), doc, "after_rename")


def isolated(write, doc, method: str) -> None:
	"""Run a log write; on failure record why and let the save go on.

	No savepoint on MariaDB: the write is one INSERT, and a failed statement leaves the transaction
	as it was (errors that abort a whole transaction, such as deadlocks, would abort the user's save
	anyway). On PostgreSQL any failed statement aborts the whole transaction, so there it needs one."""
	savepoint = "event_streaming_capture" if frappe.db.db_type == "postgres" else None
	try:
		if savepoint:
			frappe.db.savepoint(savepoint)
		write()
		if savepoint:
			frappe.db.release_savepoint(savepoint)
	except Exception:
		if savepoint:
			frappe.db.rollback(save_point=savepoint)
		frappe.log_error(
			title=f"Event Streaming: could not log {method} of {doc.doctype}",
			reference_doctype=doc.doctype,
			reference_name=doc.name,
		)


# the type the diff module never replicates (diff.NEVER_REPLICATED_TYPES)
NEVER_SENT = "Password"


def schema_of(doctype: str) -> diffing.Schema:
	"""The comparable fields of a DocType and of its tables, for the pure diff module. Credentials
	and privileges never leave this site, whatever a consumer subscribed to: fields named like a
	credential, a User's roles, keys and logins, and tables of privilege-bearing rows are typed as
	Password, which the diff module leaves out of snapshots and diffs.

	Built once per Meta object (every captured save asks for it): Frappe makes a new Meta when the
	DocType, or a child table of it, changes, so the schema follows."""
	meta = frappe.get_meta(doctype)
	schema = getattr(meta, "_event_streaming_schema", None)
	if schema is None:
		schema = diffing.Schema(fields=_value_fields(meta))
		for df in meta.get_table_fields():
			if trust.is_privileged(df.options) or df.fieldname in trust.privileged_fields(doctype):
				schema.fields[df.fieldname] = NEVER_SENT
			else:
				schema.tables[df.fieldname] = _value_fields(frappe.get_meta(df.options))
		meta._event_streaming_schema = schema
	return schema


def _value_fields(meta) -> dict[str, str]:
	privileged = trust.privileged_fields(meta.name)
	return {
		df.fieldname: (
			NEVER_SENT
			if df.fieldname in privileged or trust.is_secret_field(df.fieldname, df.fieldtype)
			else df.fieldtype
		)
		for df in meta.fields
		if df.fieldtype not in no_value_fields and df.fieldtype not in table_fields
	}


def snapshot_of(doc) -> dict:
	return diffing.strip_snapshot(doc.as_dict(no_nulls=True), schema_of(doc.doctype))


def diff_of(doc) -> dict | None:
	before = doc.get_doc_before_save()
	schema = schema_of(doc.doctype)
	new = doc.as_dict()
	if before is None:
		# No before-image (on_update run by hand, for instance): send every scalar field so the
		# consumer converges on the parent; tables cannot be diffed without their old rows.
		update = diffing.empty_diff()
		update["changed"] = {
			fieldname: new.get(fieldname)
			for fieldname, fieldtype in schema.fields.items()
			if fieldtype not in diffing.NEVER_REPLICATED_TYPES
		}
		update["changed"]["docstatus"] = new.get("docstatus") or 0
		return update
	return diffing.compute_diff(before.as_dict(), new, schema)


LOG_COLUMNS = (
	"name",
	"creation",
	"modified",
	"owner",
	"modified_by",
	"update_type",
	"ref_doctype",
	"docname",
	"data",
	"origin_site",
)
INSERT_LOG = "INSERT INTO `tabEvent Update Log` ({}) VALUES ({})".format(
	", ".join(f"`{column}`" for column in LOG_COLUMNS), ", ".join(["%s"] * len(LOG_COLUMNS))
)


def insert_log(update_type: str, doc, data, docname: str | None = None) -> None:
	"""Write the log row with one prepared INSERT: it has no hooks or links worth validating, and
	building a Document per log (or a full insert() lifecycle) was a large part of every save's cost."""
	now, user = now_datetime(), frappe.session.user
	frappe.db.sql(
		INSERT_LOG,
		(
			frappe.generate_hash(length=10),
			now,
			now,
			user,
			user,
			update_type,
			doc.doctype,
			docname or doc.name,
			frappe.as_json(data) if data is not None else None,
			# set while a replicated change is applied, so it is never sent back where it came from
			frappe.flags.event_streaming_origin or None,
		),
	)  # nosemgrep: a constant statement, the hot path of every streamed save
	# one notification per transaction, however many logs it writes; dropped on rollback
	once_after_commit(request_notification)


def once_after_commit(callback) -> None:
	"""Run ``callback`` after this transaction commits, once however often it is asked for."""
	if callback not in frappe.db.after_commit._functions:
		frappe.db.after_commit.add(callback)


def request_notification() -> None:
	"""After commit: number the new logs and ping consumers, once per transaction."""
	from event_streaming.streaming import notify

	notify.request_notification()
