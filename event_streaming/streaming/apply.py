# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Replay producer logs on the consumer through the normal document lifecycle, exactly once.

Each log is applied inside its own savepoint; the change, its Event Sync Log row and the cursor
advance share one transaction, committed once per page by the pull. A failing log rolls back to
its savepoint, is recorded as Failed with everything needed to replay it, and is retried with
backoff; later logs of the same document wait behind it, logs of other documents go on.
Applied changes carry their origin (``frappe.flags.event_streaming_origin``), so capture never
sends them back to the producer they came from.

A producer is a stranger. Every row is checked before it is applied: a malformed row, or one of a
DocType this site does not subscribe to, becomes a Failed sync log and the page goes on. A change
writes only the subscribed DocType's own fields (``dependencies.peer_values``): never owner,
timestamps, assignments, Password or privilege fields; documents move only from draft to
submitted and from submitted to cancelled; a rename never merges and never forces.
"""

from dataclasses import dataclass
from datetime import timedelta

import frappe
from frappe import _
from frappe.model.naming import is_autoincremented
from frappe.utils import add_to_date, now_datetime

from event_streaming.streaming import dependencies, payload, registration, transport

BASE_RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 6 * 3600
BEFORE_APPLY_HOOK = "event_streaming_before_apply"
AFTER_APPLY_HOOK = "event_streaming_after_apply"
# Event Sync Log columns written by write_sync_logs, in statement order
SYNC_LOG_COLUMNS = (
	"status",
	"docname",
	"error",
	"update_type",
	"ref_doctype",
	"event_producer",
	"producer_doc",
	"data",
	"use_same_name",
	"mapping",
	"update_log",
	"sequence",
	"retry_count",
	"next_retry_at",
)
# room left in a statement for its text and the server's own bookkeeping
STATEMENT_MARGIN_BYTES = 64 * 1024
# PostgreSQL has no max_allowed_packet: a statement may reach 1 GB; a quarter of that bounds what
# one statement holds in memory on both ends
POSTGRES_STATEMENT_BYTES = 256 * 1024 * 1024
# set to cap one INSERT of sync logs below the server's max_allowed_packet (tests use a small value)
statement_bytes_limit: int | None = None
# site -> its database server's statement limit: one worker process serves sites on both databases
_server_statement_bytes: dict[str, int] = {}


class ApplyError(frappe.ValidationError):
	pass


class SkipLog(ApplyError):
	"""A log that can never take effect and must not hold up its document (recorded as Skipped)."""


# a full snapshot or the end of a document: once applied, earlier failed changes no longer matter
SUPERSEDING_TYPES = ("Create", "Delete")


@dataclass
class Subscription:
	"""How one remote DocType is replayed on this site."""

	remote_doctype: str
	local_doctype: str
	use_same_name: bool
	mapping: str | None = None


def subscriptions_of(event_producer) -> dict[str, Subscription]:
	"""Remote DocType -> Subscription, for rows still subscribed (the producer enforces approval)."""
	result = {}
	for row in event_producer.producer_doctypes:
		if row.unsubscribe or row.status == "Rejected":
			continue
		remote = row.ref_doctype
		mapping = row.mapping if row.has_mapping and row.mapping else None
		if mapping:
			remote = frappe.db.get_value("Document Type Mapping", mapping, "remote_doctype")
		result[remote] = Subscription(remote, row.ref_doctype, bool(row.use_same_name), mapping)
	return result


def unsubscribed_of(event_producer) -> set[str]:
	"""Remote DocTypes this site unsubscribed from: logs the producer served before it knew."""
	return {
		registration.remote_doctype_of(row) for row in event_producer.producer_doctypes if row.unsubscribe
	}


class Applier:
	"""Applies the logs of one producer; holds the peer for dependency fetches."""

	def __init__(self, event_producer, peer: transport.Peer | None = None):
		self.producer = event_producer
		self.peer = peer or transport.producer_peer(event_producer)
		self.subscriptions = subscriptions_of(event_producer)
		self.unsubscribed = unsubscribed_of(event_producer)
		self.resolver = dependencies.DependencyResolver(
			self.peer,
			event_producer.protocol_version == "v2",
			subscribed={subscription.local_doctype for subscription in self.subscriptions.values()},
		)
		self.new_sync_logs: list[dict] = []
		# outcomes recorded so far, and who wants to hear after each page (the Pull Now button)
		self.outcomes = {"Synced": 0, "Failed": 0, "Skipped": 0}
		self.on_page = None
		# (local DocType, name) -> local name or None, for the page's documents kept under the
		# producer's name: read with one query per DocType instead of one per log (see index_page)
		self.local_names: dict[tuple[str, str], str | None] = {}
		self.before_hooks = frappe.get_hooks(BEFORE_APPLY_HOOK)
		self.after_hooks = frappe.get_hooks(AFTER_APPLY_HOOK)

	def apply_page(self, rows: list) -> list[str]:
		"""Apply a page of feed rows in order; return the names of the logs that took effect.

		Each row is checked first: one that is malformed, or of a DocType this site does not
		subscribe to, is recorded as a Failed sync log and the rest of the page goes on."""
		entries = [check_entry(raw) for raw in rows]
		seen = already_applied(self.producer.name, [name for row, _ in entries if (name := log_name(row))])
		blocked = blocked_documents(self.producer.name)
		self.index_page([row for row, problem in entries if problem is None])
		applied = []
		for row, problem in entries:
			name = log_name(row)
			if name:
				if name in seen:
					continue
				seen.add(name)
			if problem:
				self.record_invalid(row, problem)
				if key := document_key(row):
					blocked.add(key)  # later changes of its document wait, as behind any failure
				continue
			subscription = self.subscriptions.get(row["ref_doctype"])
			if subscription is None:
				if row["ref_doctype"] not in self.unsubscribed:
					self.record_not_subscribed(row)
				continue  # unsubscribed since the producer served it: the choice of this site
			key = (row["ref_doctype"], row["docname"])
			if key in blocked and row["update_type"] not in SUPERSEDING_TYPES:
				self.record(
					row,
					subscription,
					"Failed",
					error=_("Waiting for an earlier failed change of this document."),
					retry=True,
				)
				continue
			outcome = self.apply_isolated(row, subscription, earlier_failures=key in blocked)
			if outcome == "Synced":
				applied.append(row["name"])
				if row["update_type"] in SUPERSEDING_TYPES:
					blocked.discard(key)
			elif outcome == "Failed":
				blocked.add(key)
		self.write_sync_logs()
		self.local_names = {}
		if self.on_page:
			self.on_page(self.outcomes)
		return applied

	def index_page(self, rows: list[dict]) -> None:
		"""Look up, in one query per DocType, which of the page's documents kept under the producer's
		name are here already. A wrong "absent" cannot duplicate anything: the primary key refuses the
		insert (see insert), the log fails and its retry finds the document."""
		wanted: dict[str, set[str]] = {}
		for row in rows:
			subscription = self.subscriptions.get(row["ref_doctype"])
			if subscription and subscription.use_same_name and not subscription.mapping:
				wanted.setdefault(subscription.local_doctype, set()).add(row["docname"])
		self.local_names = {}
		exact = frappe.db.db_type == "postgres"

		def key(name) -> str:
			# names compare as the database does: exactly on PostgreSQL, case-insensitively under
			# MariaDB's collation
			return str(name) if exact else str(name).casefold()

		def fits_bigint(name) -> bool:
			text = str(name)
			return text.isascii() and text.isdigit() and int(text) < 2**63

		for doctype, names in wanted.items():
			if is_autoincremented(doctype):
				# the name column is a bigint: a name that is no number cannot be here, and
				# PostgreSQL would refuse the whole query (and the page's transaction) for it
				for name in names:
					if not fits_bigint(name):
						self.local_names[(doctype, name)] = None
				names = {name for name in names if fits_bigint(name)}
				if not names:
					continue
			table = frappe.qb.DocType(doctype)
			present = (
				frappe.qb.from_(table).select(table.name).where(table.name.isin(list(names))).run(pluck=True)
			)
			by_key = {key(name): name for name in present}
			for name in names:
				self.local_names[(doctype, name)] = by_key.get(key(name))

	def apply_isolated(
		self,
		row: dict,
		subscription: Subscription,
		sync_log: str | None = None,
		earlier_failures: bool = True,
	) -> str:
		"""Apply one log inside a savepoint and record the outcome: Synced, Failed or Skipped.
		``earlier_failures`` False says the document has no failed change to supersede (the page
		knows which documents have one): looking for them on every Create was a third of a pull."""
		savepoint = "event_streaming_apply"
		forget_misses()
		frappe.db.savepoint(savepoint)
		try:
			local_name = self.apply(row, subscription)
		except Exception as error:
			frappe.db.rollback(save_point=savepoint)
			frappe.clear_messages()
			# what this log's savepoint held is gone, so is what was learnt inside it
			self.resolver.forget_known()
			self.local_names = {}
			if isinstance(error, SkipLog):
				self.record(row, subscription, "Skipped", error=str(error), sync_log=sync_log)
				return "Skipped"
			self.record(row, subscription, "Failed", error=describe(error), retry=True, sync_log=sync_log)
			return "Failed"
		release_stacking_savepoint(savepoint)
		self.record(row, subscription, "Synced", local_name=local_name, sync_log=sync_log)
		if row["update_type"] in SUPERSEDING_TYPES and earlier_failures:
			self.supersede_failures(row, subscription, sync_log)
		return "Synced"

	def supersede_failures(self, row: dict, subscription: Subscription, sync_log: str | None) -> None:
		"""A Delete or full snapshot (Create) that took effect makes the document's earlier failed
		changes moot: they become Skipped (with the reason and their old error), so they neither
		wait for retries nor hold up the document's later changes."""
		reason = _("Superseded by the later {0} of this document (producer log {1}).").format(
			_(row["update_type"]), row.get("name")
		)
		for pending in self.new_sync_logs:
			if (
				pending["status"] == "Failed"
				and pending["ref_doctype"] == subscription.local_doctype
				and pending["producer_doc"] == row["docname"]
			):
				pending.update(
					status="Skipped", error=f"{reason}\n\n{pending['error'] or ''}", next_retry_at=None
				)
		filters = {
			"event_producer": self.producer.name,
			"ref_doctype": subscription.local_doctype,
			"producer_doc": row["docname"],
			"status": "Failed",
		}
		if sync_log:
			filters["creation"] = ["<", frappe.db.get_value("Event Sync Log", sync_log, "creation")]
		for earlier in frappe.get_all("Event Sync Log", filters=filters, fields=["name", "error"]):
			frappe.db.set_value(
				"Event Sync Log",
				earlier.name,
				{"status": "Skipped", "error": f"{reason}\n\n{earlier.error or ''}", "next_retry_at": None},
				update_modified=False,
			)

	def apply(self, row: dict, subscription: Subscription) -> str | None:
		row = dict(row)
		if subscription.mapping:
			from event_streaming.streaming import mapping

			row = mapping.map_row(row, subscription.mapping, self)
		for hook in self.before_hooks:
			frappe.call(hook, update_log=row, event_producer=self.producer.name)
		previous_origin = frappe.flags.event_streaming_origin
		frappe.flags.event_streaming_origin = self.producer.name
		try:
			handler = {"Create": self.insert, "Update": self.update, "Delete": self.delete}[
				row["update_type"]
			]
			local_name = handler(row, subscription)
		finally:
			frappe.flags.event_streaming_origin = previous_origin
		for hook in self.after_hooks:
			frappe.call(hook, update_log=row, event_producer=self.producer.name, local_name=local_name)
		return local_name

	# --- the three update types ---------------------------------------------------------------

	def insert(self, row: dict, subscription: Subscription) -> str:
		existing = self.find_local(subscription, row["docname"])
		if existing:
			return existing  # already here (a re-delivery or a resync): applying twice changes nothing
		values = dependencies.clean_document(subscription.local_doctype, row["data"])
		self.resolver.ensure(values, subscription.local_doctype, row["docname"])
		doc = dependencies.new_document(values)
		if subscription.use_same_name:
			doc.insert(set_name=row["docname"], set_child_names=False)
			if doc.name != row["docname"]:
				# Frappe gives a hash-named document a fresh name when the primary key is taken:
				# the document is here already, and a second copy must not stay
				frappe.throw(
					_("{0} {1} already exists on this site.").format(_(doc.doctype), row["docname"]),
					exc=frappe.DuplicateEntryError,
				)
			self.local_names[(doc.doctype, row["docname"])] = doc.name
		else:
			doc.name = None
			doc.remote_docname = row["docname"]
			doc.remote_site_name = self.producer.name
			doc.insert(set_child_names=False)
		return doc.name

	def update(self, row: dict, subscription: Subscription) -> str:
		local_name = self.find_local(subscription, row["docname"])
		if not local_name:
			# The document predates the subscription, or its Create was lost: take its current state.
			return self.insert_current_version(row, subscription)
		if row["data"].get("rename"):
			return self.rename(local_name, row["data"]["rename"], subscription)

		doc = frappe.get_doc(subscription.local_doctype, local_name)
		diff = clean_diff(subscription.local_doctype, row["data"])
		target_docstatus = diff["changed"].pop("docstatus", None)
		doc.update(diff["changed"])
		apply_row_changes(doc, diff)
		self.resolver.ensure(touched_values(diff), subscription.local_doctype, local_name)
		save_with_docstatus(doc, target_docstatus)
		return doc.name

	def delete(self, row: dict, subscription: Subscription) -> str | None:
		local_name = self.find_local(subscription, row["docname"])
		if not local_name:
			return None  # nothing to delete: the outcome the producer asked for already holds
		doc = frappe.get_doc(subscription.local_doctype, local_name)
		if doc.docstatus == 1:
			doc.cancel()
		doc.delete()
		self.local_names.pop((subscription.local_doctype, row["docname"]), None)
		return local_name

	def rename(self, local_name: str, rename, subscription: Subscription) -> str:
		"""Follow a rename on the producer: within the subscribed DocType, never merging into an
		existing document and never forcing past a DocType that does not allow renaming."""
		doctype = subscription.local_doctype
		new_name = rename.get("new_name") if isinstance(rename, dict) else None
		try:
			new_name = payload.check_name(new_name, "the new name")
		except payload.PayloadError as error:
			frappe.throw(
				_("The producer sent a rename that cannot be followed: {0}.").format(str(error)),
				exc=ApplyError,
			)
		self.local_names.pop((doctype, local_name), None)
		self.local_names.pop((doctype, new_name), None)
		if not subscription.use_same_name:
			frappe.db.set_value(doctype, local_name, "remote_docname", new_name, update_modified=False)
			return local_name
		existing = frappe.db.exists(doctype, new_name)
		if existing and existing != local_name:
			frappe.throw(
				_(
					"{0} {1} cannot be renamed to {2}: {2} already exists on this site, and a producer's rename never merges documents."
				).format(_(doctype), local_name, new_name),
				exc=ApplyError,
			)
		return frappe.rename_doc(doctype, local_name, new_name, merge=False, force=False)

	def insert_current_version(self, row: dict, subscription: Subscription) -> str:
		try:
			remote = self.resolver.fetch(subscription.remote_doctype, [row["docname"]])[0]
		except (dependencies.DocumentAbsent, transport.PeerNotFound):
			# deleted on the producer since (its Delete follows in the feed): nothing to update here
			raise SkipLog(
				_(
					"Skipped: this site has no copy of {0} {1} to update, and the producer no longer has it (or no longer lets this site read it)."
				).format(_(subscription.remote_doctype), row["docname"])
			)
		snapshot = dict(row, update_type="Create", data=remote)
		if subscription.mapping:
			from event_streaming.streaming import mapping

			snapshot = mapping.map_row(
				dict(snapshot, ref_doctype=subscription.remote_doctype), subscription.mapping, self
			)
		return self.insert(snapshot, subscription)

	def find_local(self, subscription: Subscription, remote_name: str) -> str | None:
		"""The local copy of a producer's document, by its name or by remote_docname/remote_site_name.

		The page's index answers first; otherwise a plain indexed SELECT (frappe.db.exists builds a
		query object per call, which cost more than the lookup itself)."""
		key = (subscription.local_doctype, remote_name)
		if key in self.local_names and key not in self.resolver.inserted:
			return self.local_names[key]
		table = f"`tab{subscription.local_doctype}`"
		if subscription.use_same_name:
			found = frappe.db.sql(f"SELECT name FROM {table} WHERE name = %s", (remote_name,))  # nosemgrep
		elif frappe.get_meta(subscription.local_doctype).has_field("remote_docname"):
			found = frappe.db.sql(
				f"SELECT name FROM {table} WHERE remote_docname = %s AND remote_site_name = %s LIMIT 1",
				(remote_name, self.producer.name),
			)  # nosemgrep: the table is a subscribed DocType's, the values are parameters
		else:
			return None
		return found[0][0] if found else None

	# --- bookkeeping ---------------------------------------------------------------------------

	def record(
		self,
		row: dict,
		subscription: Subscription,
		status: str,
		local_name: str | None = None,
		error: str | None = None,
		retry: bool = False,
		sync_log: str | None = None,
	) -> None:
		"""Write (or update, on a retry) the Event Sync Log row of a log."""
		self.outcomes[status] = self.outcomes.get(status, 0) + 1
		values = {
			"status": status,
			"docname": column_text(local_name or (row["docname"] if subscription.use_same_name else None)),
			"error": error,
		}
		if sync_log:
			retries = int(frappe.db.get_value("Event Sync Log", sync_log, "retry_count") or 0)
			if status == "Failed":
				values["retry_count"] = retries + 1
				values["next_retry_at"] = next_retry_at(retries + 1) if retry else None
			else:
				values["next_retry_at"] = None
			frappe.db.set_value("Event Sync Log", sync_log, values)
			return
		values.update(
			{
				"update_type": row["update_type"],
				"ref_doctype": subscription.local_doctype,
				"event_producer": self.producer.name,
				"producer_doc": row["docname"],
				"data": frappe.as_json(row.get("data")),
				"use_same_name": int(subscription.use_same_name),
				"mapping": subscription.mapping,
				"update_log": row["name"],
				"sequence": row.get("sequence") or 0,
				"retry_count": 0,
				"next_retry_at": next_retry_at(0) if retry else None,
			}
		)
		self.new_sync_logs.append(values)

	def record_not_subscribed(self, row: dict) -> None:
		"""A checked row of a DocType this site does not follow: kept as Failed, never retried."""
		doctype = row["ref_doctype"]
		self.record(
			row,
			Subscription(doctype, local_doctype(doctype), use_same_name=False),
			"Failed",
			error=_(
				"This site does not subscribe to {0} from this producer, so the change was not applied."
			).format(doctype),
		)

	def record_invalid(self, raw, problem: str) -> None:
		"""A row that failed its checks: kept as Failed with what arrived, never retried."""
		row = raw if isinstance(raw, dict) else {}
		update_type = row.get("update_type")
		self.outcomes["Failed"] += 1
		self.new_sync_logs.append(
			{
				"status": "Failed",
				"docname": None,
				"error": _("The producer sent a log that cannot be applied: {0}.").format(problem),
				"update_type": update_type if update_type in payload.UPDATE_TYPES else None,
				"ref_doctype": local_doctype(row.get("ref_doctype")),
				"event_producer": self.producer.name,
				"producer_doc": column_text(row.get("docname")),
				"data": frappe.as_json(raw),
				"use_same_name": 0,
				"mapping": None,
				"update_log": log_name(row),
				"sequence": sequence_or_zero(row.get("sequence")),
				"retry_count": 0,
				"next_retry_at": None,
			}
		)

	def write_sync_logs(self) -> None:
		"""Insert the page's new Event Sync Log rows, in the page's transaction, in as few statements
		as fit under the server's max_allowed_packet (a page of large documents needs several)."""
		if not self.new_sync_logs:
			return
		start, user = now_datetime(), frappe.session.user
		fields = ["name", "creation", "modified", "owner", "modified_by", *SYNC_LOG_COLUMNS]
		limit = max_statement_bytes()
		batch, batch_bytes = [], 0
		for position, log in enumerate(self.new_sync_logs):
			# distinct, increasing timestamps keep "oldest first" (retries, per-document order) exact
			created = start + timedelta(microseconds=position)
			values = [frappe.generate_hash(length=10), created, created, user, user]
			# a peer's words in a name or an error text must not fail the statement for the whole page
			values.extend(
				payload.storable_text(value) if isinstance(value, str) else value
				for value in (log[column] for column in SYNC_LOG_COLUMNS)
			)
			size = estimated_bytes(values)
			if size > limit:
				values = without_data(values, size)
				size = estimated_bytes(values)
			if batch and batch_bytes + size > limit:
				insert_sync_log_rows(fields, batch)
				batch, batch_bytes = [], 0
			batch.append(values)
			batch_bytes += size
		insert_sync_log_rows(fields, batch)
		self.new_sync_logs = []


def check_entry(raw) -> tuple[dict, str | None]:
	"""A feed row checked for applying: ``(row, None)``, or ``(raw, why it cannot be applied)``."""
	try:
		return payload.check_feed_row(raw), None
	except payload.PayloadError as error:
		return raw, str(error)


def log_name(row) -> str | None:
	"""The producer's log name of a row, when it is one (malformed rows may have none)."""
	name = row.get("name") if isinstance(row, dict) else None
	try:
		return payload.check_name(name, "the name")
	except payload.PayloadError:
		return None


def document_key(row) -> tuple[str, str] | None:
	"""(remote DocType, document name) of a row, when both are names."""
	try:
		return (
			payload.check_name(row.get("ref_doctype"), "the DocType"),
			payload.check_name(row.get("docname"), "the document name"),
		)
	except (payload.PayloadError, AttributeError):
		return None


def release_stacking_savepoint(savepoint: str) -> None:
	"""Release a per-document savepoint once its document is applied. On PostgreSQL savepoints of
	one name stack, and a page of 500 logs was 500 nested subtransactions (past 64 each one costs
	more); MariaDB replaces a savepoint of the same name, so there it would only cost a statement."""
	if frappe.db.db_type == "postgres":
		frappe.db.release_savepoint(savepoint)


def column_text(value) -> str | None:
	"""A value for a varchar(140) column of the sync log: storable text, cut to fit."""
	if value is None or value == "":
		return None
	return payload.storable_text(str(value)[: payload.MAX_NAME_LENGTH])


def local_doctype(value) -> str | None:
	"""A peer's DocType name for the sync log's Link column: only a DocType of this site, which Desk
	shows as a link; anything else stays in the log's data."""
	name = column_text(value)
	return name if name and frappe.db.exists("DocType", name, cache=True) else None


def sequence_or_zero(value) -> int:
	try:
		return payload.check_sequence(value, "the sequence")
	except payload.PayloadError:
		return 0


def max_statement_bytes() -> int:
	"""How large one INSERT may be: the server's max_allowed_packet (read once per process and site)
	less a margin, unless ``statement_bytes_limit`` says less."""
	site = frappe.local.site
	if site not in _server_statement_bytes:
		_server_statement_bytes[site] = server_statement_bytes()
	limit = _server_statement_bytes[site] - STATEMENT_MARGIN_BYTES
	if statement_bytes_limit:
		limit = min(limit, statement_bytes_limit)
	return max(limit, 1024)


def server_statement_bytes() -> int:
	if frappe.db.db_type == "postgres":
		return POSTGRES_STATEMENT_BYTES
	return int(frappe.db.sql("SELECT @@max_allowed_packet")[0][0])  # nosemgrep: a server variable


def estimated_bytes(values: list) -> int:
	"""An upper bound of the bytes ``values`` take in a statement: text may double when escaped."""
	size = 16
	for value in values:
		size += 2 * len(value.encode()) + 4 if isinstance(value, str) else 32
	return size


def without_data(values: list, size: int) -> list:
	"""Sync log values whose data alone is too large for any statement: the data is left out and
	the error says so (a Synced log does not need it; a Failed one cannot be replayed from it)."""
	values = list(values)
	offset = 5  # name, creation, modified, owner, modified_by come first
	data_at = offset + SYNC_LOG_COLUMNS.index("data")
	error_at = offset + SYNC_LOG_COLUMNS.index("error")
	values[data_at] = None
	if values[offset + SYNC_LOG_COLUMNS.index("status")] == "Failed":
		note = _(
			"The data of this change (about {0} MB) is larger than the database accepts in one statement, so it was not kept: resync cannot replay it."
		).format(round(size / 2 / 1024 / 1024, 1))
		values[error_at] = f"{values[error_at] or ''}\n\n{note}".strip()
	return values


def insert_sync_log_rows(fields: list[str], rows: list[list]) -> None:
	if not rows:
		return
	placeholders = "({})".format(", ".join(["%s"] * len(fields)))
	frappe.db.sql(
		"INSERT INTO `tabEvent Sync Log` ({}) VALUES {}".format(
			", ".join(f"`{field}`" for field in fields), ", ".join([placeholders] * len(rows))
		),
		[value for row in rows for value in row],
	)  # nosemgrep: fixed columns, values as parameters; a query builder of 500 rows cost more


def clean_diff(doctype: str, diff: dict) -> dict:
	"""An Update diff cut down to what a peer may change: fields of the DocType (no owner,
	timestamps, assignments, Password or privilege fields), rows of its own tables."""
	tables = {df.fieldname: df.options for df in frappe.get_meta(doctype).get_table_fields()}
	changed = {
		key: value
		for key, value in dependencies.peer_values(doctype, diff.get("changed") or {}).items()
		if key not in tables
	}
	if "docstatus" in changed:
		changed["docstatus"] = check_target_docstatus(changed["docstatus"])
	clean = {"changed": changed, "added": {}, "removed": {}, "row_changed": {}}
	for part in ("added", "row_changed"):
		for table, rows in (diff.get(part) or {}).items():
			if table not in tables:
				continue  # a table this DocType does not have here: nowhere to put its rows
			if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
				frappe.throw(
					_("The change's {0} rows of {1} are not a list of rows.").format(part, table),
					exc=ApplyError,
				)
			clean[part][table] = [dependencies.peer_row_values(tables[table], row) for row in rows]
	for table, names in (diff.get("removed") or {}).items():
		if table not in tables:
			continue
		if not isinstance(names, list):
			frappe.throw(
				_("The change's removed rows of {0} are not a list of names.").format(table), exc=ApplyError
			)
		clean["removed"][table] = [name for name in names if isinstance(name, str)]
	return clean


def check_target_docstatus(value) -> int:
	if value in (0, 1, 2) and not isinstance(value, bool):
		return int(value)
	frappe.throw(_("The change sets an invalid document status {0}.").format(value), exc=ApplyError)


def save_with_docstatus(doc, target_docstatus: int | None) -> None:
	"""Save ``doc``, moving it to ``target_docstatus`` only by submitting a draft or cancelling a
	submitted document: a producer cannot cancel a draft or reopen a cancelled document."""
	current = doc.docstatus or 0
	if target_docstatus is None or target_docstatus == current:
		doc.save()
	elif current == 0 and target_docstatus == 1 and doc.meta.is_submittable:
		doc.submit()
	elif current == 1 and target_docstatus == 2:
		doc.cancel()
	else:
		frappe.throw(
			_(
				"The producer moves {0} {1} from document status {2} to {3}; only submitting a draft (0 to 1) and cancelling a submitted document (1 to 2) are replayed."
			).format(_(doc.doctype), doc.name, current, target_docstatus),
			exc=ApplyError,
		)


def apply_row_changes(doc, diff: dict) -> None:
	"""Apply the table parts of a checked diff (see clean_diff) to a Document: removed, changed,
	then added rows. Rows are matched by name among this document's own rows only."""
	for table, names in (diff.get("removed") or {}).items():
		drop = set(names)
		doc.set(table, [row for row in doc.get(table) or [] if row.name not in drop])
	for table, changes in (diff.get("row_changed") or {}).items():
		rows = {row.name: row for row in doc.get(table) or []}
		for change in changes:
			row = rows.get(change.get("name"))
			if row is None:
				frappe.throw(
					_("Row {0} of {1} does not exist here; the document has diverged.").format(
						change.get("name"), table
					),
					exc=ApplyError,
				)
			row.update({key: value for key, value in change.items() if key != "name"})
	for table, rows in (diff.get("added") or {}).items():
		present = {row.name for row in doc.get(table) or []}
		for values in rows:
			row_name = values.get("name")
			if row_name in present:
				continue
			child = doc.append(table, {key: value for key, value in values.items() if key != "name"})
			child.name = row_name if isinstance(row_name, str) else None
			child.set("__islocal", 1)  # keep the producer's row name, insert it as a new row
	for table in {*(diff.get("row_changed") or {}), *(diff.get("added") or {})}:
		ordered = sorted(doc.get(table) or [], key=lambda row: row.idx or 0)
		for position, row in enumerate(ordered, start=1):
			row.idx = position
		doc.set(table, ordered)


def forget_misses() -> None:
	"""Link checks memoise lookups for the whole process, misses included: a target inserted since
	(by a dependency fetch, or by an operator before a resync) must be found. Hits stay cached."""
	cache = frappe.db.value_cache
	for key in [key for key, value in cache.items() if not value]:
		del cache[key]


def touched_values(diff: dict) -> dict:
	"""The values an Update brings, shaped like a document, so only their links are checked."""
	values = dict(diff.get("changed") or {})
	for part in ("added", "row_changed"):
		for table, rows in (diff.get(part) or {}).items():
			values.setdefault(table, []).extend(rows)
	return values


def already_applied(producer: str, log_names: list[str]) -> set[str]:
	if not log_names:
		return set()
	log = frappe.qb.DocType("Event Sync Log")
	return set(
		frappe.qb.from_(log)
		.select(log.update_log)
		.where(log.event_producer == producer)
		.where(log.update_log.isin(log_names))
		.run(pluck=True)
	)


def blocked_documents(producer: str) -> set[tuple[str, str]]:
	"""Documents (by remote DocType and name) with a failed change still waiting."""
	log = frappe.qb.DocType("Event Sync Log")
	rows = (
		frappe.qb.from_(log)
		.select(log.ref_doctype, log.producer_doc, log.mapping)
		.where(log.event_producer == producer)
		.where(log.status == "Failed")
		.distinct()
		.run(as_dict=True)
	)
	result = set()
	for row in rows:
		remote = row.ref_doctype
		if row.mapping:
			remote = frappe.db.get_value("Document Type Mapping", row.mapping, "remote_doctype") or remote
		result.add((remote, row.producer_doc))
	return result


def next_retry_at(retries: int):
	delay = min(BASE_RETRY_SECONDS * 2**retries, MAX_RETRY_SECONDS)
	return add_to_date(now_datetime(), seconds=delay)


def describe(error: Exception) -> str:
	message = frappe.utils.strip_html(str(error)) or type(error).__name__
	return f"{type(error).__name__}: {message}\n\n{frappe.get_traceback(with_context=False)}"
