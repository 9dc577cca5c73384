# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Leaving both sites as they were found: removing what a measurement wrote (documents, their
update logs and sync logs, global-search queue entries, job marks) and counting table rows at the
start and the end, so that anything left behind is reported."""

from benchmarks.common import CHILD_TABLES, CONSUMER, PRODUCER, SITES, TITLE_FIELD, chunks

# the tables a run writes to, directly or through the app; their row counts must come back
STATE_TABLES = {
	PRODUCER: [
		"ToDo", "Note", "Note Seen By", "Event Update Log", "Event Update Log Consumer", "Event Consumer",
		"Event Consumer Document Type", "Event Sync Log", "Version", "Deleted Document", "Error Log", "Comment",
		"Activity Log", "__Auth",
	],
	CONSUMER: [
		"ToDo", "Note", "Note Seen By", "Event Sync Log", "Event Producer", "Event Producer Document Type",
		"Event Producer Last Update", "Event Update Log", "Version", "Deleted Document", "Error Log", "Comment",
		"Activity Log", "__Auth",
	],
}  # fmt: skip


class Cleanup:
	def __init__(self, bench):
		self.bench = bench
		self.redis_marks_before: set[bytes] = set()

	def delete_docs(self, site: str, doctype: str, names: list[str]) -> None:
		bench = self.bench
		for chunk in chunks(names):
			for child in CHILD_TABLES.get(doctype, []):
				bench.sql(
					site,
					f"DELETE FROM {bench.table(site, child)} WHERE parent IN %s AND parenttype = %s",
					(chunk, doctype),
				)
			bench.sql(site, f"DELETE FROM {bench.table(site, doctype)} WHERE name IN %s", (chunk,))

	def delete_replicated_docs(self, doctype: str, names: list[str]) -> None:
		"""Documents written on the producer and replicated: from both sites, with their sync logs.
		Their update logs stay until the subscription is gone (the consumer's cursor is past them)."""
		self.delete_docs(PRODUCER, doctype, names)
		self.delete_docs(CONSUMER, doctype, names)
		self.delete_sync_logs(doctype, names)

	def delete_update_logs(self, doctype: str, docnames: list[str]) -> None:
		"""Only safe before any consumer read them: a deleted top sequence would be numbered again."""
		bench = self.bench
		for chunk in chunks(docnames):
			logs = bench.sql(
				PRODUCER,
				f"SELECT name FROM {bench.table(PRODUCER, 'Event Update Log')} WHERE ref_doctype = %s AND docname IN %s",
				(doctype, chunk),
			)
			self.delete_logs([row[0] for row in logs])

	def delete_logs(self, logs: list[str]) -> None:
		bench = self.bench
		for chunk in chunks(logs):
			bench.sql(
				PRODUCER,
				f"DELETE FROM {bench.table(PRODUCER, 'Event Update Log Consumer')} WHERE parent IN %s",
				(chunk,),
			)
			bench.sql(
				PRODUCER,
				f"DELETE FROM {bench.table(PRODUCER, 'Event Update Log')} WHERE name IN %s",
				(chunk,),
			)

	def delete_sync_logs(self, doctype: str, docnames: list[str]) -> None:
		bench = self.bench
		for chunk in chunks(docnames):
			bench.sql(
				CONSUMER,
				f"DELETE FROM {bench.table(CONSUMER, 'Event Sync Log')} WHERE ref_doctype = %s AND producer_doc IN %s",
				(doctype, chunk),
			)

	def sweep(self) -> None:
		"""Remove everything tagged with this run's prefix from both sites (docs, logs, sync logs)."""
		bench = self.bench
		like = f"{bench.prefix}%"
		for site in SITES:
			for doctype, field in TITLE_FIELD.items():
				names = bench.sql(
					site,
					f"SELECT name FROM {bench.table(site, doctype)} WHERE {bench.quote(site, field)} LIKE %s",
					(like,),
				)
				self.delete_docs(site, doctype, [row[0] for row in names])
		contains = f"%{bench.prefix}%"
		logs = bench.sql(
			PRODUCER,
			f"SELECT name FROM {bench.table(PRODUCER, 'Event Update Log')} WHERE data LIKE %s",
			(contains,),
		)
		self.delete_logs([row[0] for row in logs])
		bench.sql(
			CONSUMER, f"DELETE FROM {bench.table(CONSUMER, 'Event Sync Log')} WHERE data LIKE %s", (contains,)
		)

	def remember_redis_marks(self) -> None:
		"""The app's job marks present before the run: clean_redis leaves those alone."""
		for site in SITES:
			pattern = f"{self.bench.sites[site]['db_name']}|event_streaming::*"
			self.redis_marks_before |= set(self.bench.redis_cache.keys(pattern))

	def clean_redis(self) -> None:
		"""Drop our entries from each site's global search queue and the job marks we left."""
		bench = self.bench
		cache = bench.redis_cache
		for site in SITES:
			db_name = bench.sites[site]["db_name"]
			key = f"{db_name}|global_search_queue"
			entries = cache.lrange(key, 0, -1)
			keep = [entry for entry in entries if bench.prefix.encode() not in entry]
			if len(keep) != len(entries):
				pipe = cache.pipeline()
				pipe.delete(key)
				if keep:
					pipe.rpush(key, *keep)
				pipe.execute()
			for mark in cache.keys(f"{db_name}|event_streaming::*"):
				if mark not in self.redis_marks_before and (b"::pending::" in mark or b"::queued::" in mark):
					cache.delete(mark)

	def state(self) -> dict:
		"""Row counts (and the Administrator's api_key) that the end of the run compares with the start."""
		bench = self.bench
		counts = {
			f"{site} {doctype}": bench.count(site, doctype)
			for site, tables in STATE_TABLES.items()
			for doctype in tables
		}
		for site in SITES:
			db_name = bench.sites[site]["db_name"]
			counts[f"{site} global search queue"] = bench.redis_cache.llen(f"{db_name}|global_search_queue")
			counts[f"{site} Administrator api_key"] = bench.sql(
				site, f"SELECT api_key FROM {bench.table(site, 'User')} WHERE name = 'Administrator'"
			)[0][0]
		return counts
