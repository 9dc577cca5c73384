# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""What a stretch of work cost: HTTP requests and bytes from the web server's access log, SQL
statements per site (each site has its own database user: MariaDB's userstat counts per user,
PostgreSQL's pg_stat_statements per role), and rows added to the log tables. A measurement takes a
``mark()`` before and after, and ``costs()`` turns the two into figures per document."""

from collections import Counter

from benchmarks.common import CONSUMER, PRODUCER, SITES

# host, method, path, status, response bytes, request bytes, microseconds: the fields costs() reads
ACCESS_LOG_FORMAT = "\t".join(
	["%({host}i)s", "%(m)s", "%(U)s", "%(s)s", "%(B)s", "%({content-length}i)s", "%(D)s"]
)
LOG_TABLES = {
	"Event Update Log": PRODUCER,
	"Event Update Log Consumer": PRODUCER,
	"Event Sync Log": CONSUMER,
}


class Meter:
	def __init__(self, bench):
		self.bench = bench
		self.userstat_before = None

	def enable_userstat(self) -> None:
		"""Switch on the server's per-user statement counters, noting why where there are none."""
		try:
			if self.bench.db_type == "postgres":
				self.enable_pg_stat_statements()
			else:
				self.userstat_before = self.bench.server.sql("SELECT @@GLOBAL.userstat")[0][0]
				self.bench.server.sql("SET GLOBAL userstat = 1")
		except Exception as error:
			self.userstat_before = None
			self.bench.notes.append(
				f"no per-site SQL counts: {self.bench.db_label} cannot count them ({error})"
			)

	def enable_pg_stat_statements(self) -> None:
		"""pg_stat_statements must be loaded at server start (scripts/lib/bench_services.sh does so);
		its view needs the extension in the database we read it from, the server's own."""
		server = self.bench.server
		if "pg_stat_statements" not in server.sql("SHOW shared_preload_libraries")[0][0]:
			raise RuntimeError(
				"pg_stat_statements is not in shared_preload_libraries; restart the server with it"
			)
		installed = server.sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
		if not installed:
			server.sql("CREATE EXTENSION pg_stat_statements")
		# restore_userstat drops the extension again only if this run created it
		self.userstat_before = bool(installed)

	def restore_userstat(self) -> None:
		if self.userstat_before is None:
			return
		if self.bench.db_type == "postgres":
			if not self.userstat_before:
				self.bench.server.sql("DROP EXTENSION pg_stat_statements")
		else:
			self.bench.server.sql("SET GLOBAL userstat = %s", (int(self.userstat_before),))

	def statements(self) -> dict[str, int] | None:
		"""SQL statements issued so far by each site's database user."""
		if self.userstat_before is None:
			return None
		users = {self.bench.sites[site]["db_name"]: site for site in SITES}
		if self.bench.db_type == "postgres":
			query = (
				"SELECT r.rolname, SUM(s.calls) FROM pg_stat_statements s "
				"JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname IN %s GROUP BY r.rolname"
			)
		else:
			query = (
				"SELECT USER, SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS "
				"FROM information_schema.USER_STATISTICS WHERE USER IN %s"
			)
		result = {site: 0 for site in SITES}
		for user, total in self.bench.server.sql(query, (tuple(users),)):
			result[users[user]] = int(total)
		return result

	def log_rows(self) -> dict[str, int]:
		return {table: self.bench.count(site, table) for table, site in LOG_TABLES.items()}

	def mark(self) -> dict:
		return {
			"sql": self.statements(),
			"access": self.bench.access_log.stat().st_size,
			"rows": self.log_rows(),
		}

	def costs(self, before: dict, after: dict, docs: int) -> dict:
		"""Per-document costs between two marks."""
		http = {PRODUCER: Counter(), CONSUMER: Counter()}
		paths = {PRODUCER: Counter(), CONSUMER: Counter()}
		with open(self.bench.access_log, "rb") as log:
			log.seek(before["access"])
			chunk = log.read(after["access"] - before["access"]).decode(errors="replace")
		for line in chunk.splitlines():
			parts = line.split("\t")
			if len(parts) != 7:
				continue
			host, method, path, status, sent, received, micros = parts
			site = PRODUCER if host.startswith(PRODUCER) else CONSUMER if host.startswith(CONSUMER) else None
			if site is None:
				continue
			http[site]["requests"] += 1
			http[site]["bytes"] += to_int(sent) + to_int(received)
			http[site]["server_ms"] += to_int(micros) / 1000
			paths[site][f"{method} {path.rsplit('.', 1)[-1]} {status}"] += 1
		result = {
			"http_producer": http[PRODUCER]["requests"] / docs,
			"http_consumer": http[CONSUMER]["requests"] / docs,
			"bytes": (http[PRODUCER]["bytes"] + http[CONSUMER]["bytes"]) / docs,
			"server_ms_producer": http[PRODUCER]["server_ms"] / docs,
			"server_ms_consumer": http[CONSUMER]["server_ms"] / docs,
			"paths": {"producer": dict(paths[PRODUCER]), "consumer": dict(paths[CONSUMER])},
		}
		if before["sql"] is not None:
			result["sql_producer"] = (after["sql"][PRODUCER] - before["sql"][PRODUCER]) / docs
			result["sql_consumer"] = (after["sql"][CONSUMER] - before["sql"][CONSUMER]) / docs
		for table, rows in after["rows"].items():
			result[f"rows {table}"] = (rows - before["rows"][table]) / docs
		return result


def to_int(value: str) -> int:
	"""An access-log number; gunicorn writes "-" where there is none (a request without a body)."""
	try:
		return int(value)
	except ValueError:
		return 0
