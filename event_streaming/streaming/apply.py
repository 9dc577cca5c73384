# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Replay producer logs on the consumer through the normal document lifecycle, exactly once.

Each log is applied inside its own savepoint; the change, its Event Sync Log row and the cursor
advance share one transaction, committed once per page by the pull. A failing log rolls back to
its savepoint, is recorded as Failed with everything needed to replay it, and is retried with
backoff; later logs of the same document wait behind it, logs of other documents go on.
Applied changes carry their origin (``frappe.flags.event_streaming_origin``), so capture never
sends them back to the producer they came from.
"""

from dataclasses import dataclass
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import add_to_date, now_datetime

from event_streaming.streaming import dependencies, transport

BASE_RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 6 * 3600
BEFORE_APPLY_HOOK = "event_streaming_before_apply"
AFTER_APPLY_HOOK = "event_streaming_after_apply"


class ApplyError(frappe.ValidationError):
	pass


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


class Applier:
	"""Applies the logs of one producer; holds the peer for dependency fetches."""

	def __init__(self, event_producer, peer: transport.Peer | None = None):
		self.producer = event_producer
		self.peer = peer or transport.producer_peer(event_producer)
		self.subscriptions = subscriptions_of(event_producer)
		self.resolver = dependencies.DependencyResolver(self.peer, event_producer.protocol_version == "v2")
		self.new_sync_logs: list[dict] = []
		# (local DocType, name) -> local name or None, for the page's documents kept under the
		# producer's name: read with one query per DocType instead of one per log (see index_page)
		self.local_names: dict[tuple[str, str], str | None] = {}
		self.before_hooks = frappe.get_hooks(BEFORE_APPLY_HOOK)
		self.after_hooks = frappe.get_hooks(AFTER_APPLY_HOOK)

	def apply_page(self, rows: list[dict]) -> list[str]:
		"""Apply checked feed rows in order; return the names of the logs that took effect."""
		seen = already_applied(self.producer.name, [row["name"] for row in rows])
		blocked = blocked_documents(self.producer.name)
		self.index_page(rows)
		applied = []
		for row in rows:
			if row["name"] in seen:
				continue
			seen.add(row["name"])
			subscription = self.subscriptions.get(row["ref_doctype"])
			if subscription is None:
				continue  # unsubscribed since the producer served it
			key = (row["ref_doctype"], row["docname"])
			if key in blocked:
				self.record(
					row,
					subscription,
					"Failed",
					error=_("Waiting for an earlier failed change of this document."),
					retry=True,
				)
				continue
			if self.apply_isolated(row, subscription):
				applied.append(row["name"])
			else:
				blocked.add(key)
		self.write_sync_logs()
		self.local_names = {}
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
		for doctype, names in wanted.items():
			table = frappe.qb.DocType(doctype)
			present = (
				frappe.qb.from_(table).select(table.name).where(table.name.isin(list(names))).run(pluck=True)
			)
			# names compare as the database does (case-insensitively)
			by_folded = {name.casefold(): name for name in present}
			for name in names:
				self.local_names[(doctype, name)] = by_folded.get(name.casefold())

	def apply_isolated(self, row: dict, subscription: Subscription, sync_log: str | None = None) -> bool:
		"""Apply one log inside a savepoint and record the outcome; True if it took effect."""
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
			self.record(row, subscription, "Failed", error=describe(error), retry=True, sync_log=sync_log)
			return False
		self.record(row, subscription, "Synced", local_name=local_name, sync_log=sync_log)
		return True

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
		values = dict(row["data"])
		self.resolver.ensure(values, subscription.local_doctype, row["docname"])
		doc = dependencies.build_document(subscription.local_doctype, values)
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
		diff = row["data"]
		local_name = self.find_local(subscription, row["docname"])
		if not local_name:
			# The document predates the subscription, or its Create was lost: take its current state.
			return self.insert_current_version(row, subscription)
		if diff.get("rename"):
			return self.rename(local_name, diff["rename"], subscription)

		doc = frappe.get_doc(subscription.local_doctype, local_name)
		changed = dict(diff.get("changed") or {})
		target_docstatus = changed.pop("docstatus", None)
		doc.update(changed)
		apply_row_changes(doc, diff)
		self.resolver.ensure(touched_values(diff), subscription.local_doctype, local_name)

		if target_docstatus == 1 and doc.docstatus == 0:
			doc.submit()
		elif target_docstatus == 2 and doc.docstatus == 1:
			doc.cancel()
		else:
			doc.save()
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

	def rename(self, local_name: str, rename: dict, subscription: Subscription) -> str:
		self.local_names.pop((subscription.local_doctype, local_name), None)
		self.local_names.pop((subscription.local_doctype, rename["new_name"]), None)
		if not subscription.use_same_name:
			frappe.db.set_value(
				subscription.local_doctype,
				local_name,
				"remote_docname",
				rename["new_name"],
				update_modified=False,
			)
			return local_name
		return frappe.rename_doc(
			subscription.local_doctype,
			local_name,
			rename["new_name"],
			merge=bool(rename.get("merge")),
			force=True,
		)

	def insert_current_version(self, row: dict, subscription: Subscription) -> str:
		remote = self.resolver.fetch(subscription.remote_doctype, [row["docname"]])[0]
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
		values = {
			"status": status,
			"docname": local_name or (row["docname"] if subscription.use_same_name else None),
			"error": error,
		}
		if sync_log:
			retries = int(frappe.db.get_value("Event Sync Log", sync_log, "retry_count") or 0)
			if status == "Failed":
				values["retry_count"] = retries + 1
				values["next_retry_at"] = next_retry_at(retries + 1)
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

	def write_sync_logs(self) -> None:
		"""Insert the page's new Event Sync Log rows in one statement, in the page's transaction."""
		if not self.new_sync_logs:
			return
		start, user = now_datetime(), frappe.session.user
		columns = list(self.new_sync_logs[0])
		fields = ["name", "creation", "modified", "owner", "modified_by", *columns]
		values = []
		for position, log in enumerate(self.new_sync_logs):
			# distinct, increasing timestamps keep "oldest first" (retries, per-document order) exact
			created = start + timedelta(microseconds=position)
			values.extend((frappe.generate_hash(length=10), created, created, user, user))
			values.extend(log[column] for column in columns)
		row = "({})".format(", ".join(["%s"] * len(fields)))
		frappe.db.sql(
			"INSERT INTO `tabEvent Sync Log` ({}) VALUES {}".format(
				", ".join(f"`{field}`" for field in fields), ", ".join([row] * len(self.new_sync_logs))
			),
			values,
		)  # nosemgrep: fixed columns, values as parameters; a query builder of 500 rows cost more
		self.new_sync_logs = []


def apply_row_changes(doc, diff: dict) -> None:
	"""Apply the table parts of a diff to a Document: removed, changed, then added rows."""
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
			if values.get("name") in present:
				continue
			child = doc.append(
				table,
				{
					key: value
					for key, value in values.items()
					if key not in dependencies.LOCAL_ONLY_FIELDS
					and key not in ("parent", "parenttype", "parentfield", "doctype")
				},
			)
			child.name = values.get("name")
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
