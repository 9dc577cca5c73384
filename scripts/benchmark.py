#!/usr/bin/env python3
# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Replication benchmark on the two-site bench: every speed figure the issues quote comes from here.

	flock /tmp/es-bench.lock /opt/frappe-bench/env/bin/python scripts/benchmark.py \\
		--bench /opt/frappe-bench [--n 500] [--runs 3] [--scale] [--json out.json]

Run it with the bench's Python. It uses the existing bench only (sites es-producer.localhost and
es-consumer.localhost, made by scripts/two_site_tests.sh) and starts the web server and, where a
measurement needs one, a worker through scripts/lib/bench_services.sh, the same way the test runner
does; it stops them before it exits. Each figure is the median of --runs runs, with min and max:

1. Producer write overhead: N inserts on the producer, one commit each (as N requests would), with
   no approved consumer, one, and three (two registered directly on the producer with unreachable
   callback URLs); ToDo and Note with two seen_by rows. The three conditions alternate within each
   run (only approvals change between them), and each run's time is divided by the no-consumer time
   of the same run. A worker serves the short queue, so the producer's notification job runs
   alongside the writes as in production.
2. Catch-up: no worker; N ToDos (and N Notes) written on the producer, then one timed pull_now on
   the consumer, against the consumer inserting the same documents itself (one commit per 500).
3. End to end, worker running: first write to the consumer holding all N; then single changes
   written one at a time (latency from the producer's commit to the row being on the consumer).
4. Costs per replicated document: HTTP requests served by each site and body bytes (gunicorn
   access log), SQL statements issued by each site's database user (MariaDB userstat), and rows
   added to Event Update Log, Event Update Log Consumer and Event Sync Log.
5. --scale repeats everything at --scale-n (5000) to show how the costs grow.

It is a benchmark, not a test: nothing is asserted. Both sites are left as found: the documents,
logs and subscription it made are removed (all tagged with a unique prefix), the keys it had to
create are removed, and a final check compares table row counts with those at the start.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LIB = HERE / "lib" / "bench_services.sh"
PRODUCER = "es-producer.localhost"
CONSUMER = "es-consumer.localhost"
WRITE_DOCTYPES = ("ToDo", "Note")
CATCHUP_DOCTYPES = ("ToDo", "Note")
SUBSCRIBED = ("ToDo", "Note")
CHILD_TABLES = {"Note": ["Note Seen By"]}
TITLE_FIELD = {"ToDo": "description", "Note": "title"}
APPLY_PAGE = 500
WEB_WORKERS = 3  # gunicorn -w in scripts/lib/bench_services.sh
# host, method, path, status, response bytes, request bytes, microseconds
ACCESS_LOG_FORMAT = "\t".join(
	["%({host}i)s", "%(m)s", "%(U)s", "%(s)s", "%(B)s", "%({content-length}i)s", "%(D)s"]
)
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


class BenchmarkError(Exception):
	pass


# --- the work done inside a site (a subprocess with frappe connected to one site) ---------------


def make_doc(doctype: str, tag: str, index: int) -> dict:
	"""The index-th benchmark document; the tag leads its title so that cleanup can find it."""
	if doctype == "ToDo":
		return {
			"doctype": "ToDo",
			"description": f"{tag}-{index:05d} follow up with the supplier about the delayed delivery",
			"priority": "Medium",
		}
	return {
		"doctype": "Note",
		"title": f"{tag}-{index:05d}",
		"content": "<p>Replication benchmark note: a short paragraph of ordinary text.</p>",
		"seen_by": [{"user": "Administrator"}, {"user": "Guest"}],
	}


def warm_up(doctype: str, tag: str) -> str:
	"""Load meta, hooks and capture with one insert that is rolled back (nothing is kept)."""
	import frappe

	doc = frappe.get_doc(make_doc(doctype, f"{tag}-warmup", 0))
	doc.insert()
	frappe.db.rollback()
	return doc.name


def task_write(doctype: str, tag: str, count: int) -> dict:
	"""Insert ``count`` documents, committing each as its own request would."""
	import frappe

	warm_up(doctype, tag)
	names = []
	first_write = time.time()
	start = time.perf_counter()
	for index in range(count):
		doc = frappe.get_doc(make_doc(doctype, tag, index))
		doc.insert()
		frappe.db.commit()
		names.append(doc.name)
	seconds = time.perf_counter() - start
	return {"seconds": seconds, "first_write": first_write, "last_commit": time.time(), "names": names}


def task_local_insert(doctype: str, tag: str, count: int, page: int) -> dict:
	"""Insert the same documents as the producer did, named and committed the way apply does."""
	import frappe

	warm_up(doctype, tag)
	names = []
	start = time.perf_counter()
	for index in range(count):
		doc = frappe.get_doc(make_doc(doctype, tag, index))
		doc.insert(set_name=frappe.generate_hash(length=10))
		names.append(doc.name)
		if (index + 1) % page == 0:
			frappe.db.commit()
	frappe.db.commit()
	return {"seconds": time.perf_counter() - start, "names": names}


def task_pull(producer_url: str, tag: str) -> dict:
	import frappe

	from event_streaming.streaming import pull

	# warmed as the local insert is: one rolled-back insert each, so imports and meta are loaded
	# before the clock starts in both measurements
	for doctype in SUBSCRIBED:
		warm_up(doctype, tag)
	for doctype in ("Event Sync Log", "Event Producer", "Event Producer Last Update"):
		frappe.get_meta(doctype)
	frappe.get_doc("Event Producer", producer_url)
	start = time.perf_counter()
	applied = pull.pull_now(producer_url, wait=120)
	frappe.db.commit()
	seconds = time.perf_counter() - start
	failed = frappe.db.count("Event Sync Log", {"event_producer": producer_url, "status": "Failed"})
	return {"seconds": seconds, "applied": applied, "failed": failed}


def task_single_changes(
	tag: str, count: int, gap: float, timeout: float, consumer_db: str, root: dict
) -> dict:
	"""Write ToDos one at a time; each time, wait until the consumer holds it."""
	import frappe
	import pymysql

	connection = pymysql.connect(database=consumer_db, autocommit=True, **root)
	warm_up("ToDo", tag)
	names, latencies = [], []
	with connection.cursor() as cursor:
		for index in range(count):
			doc = frappe.get_doc(make_doc("ToDo", tag, index))
			doc.insert()
			frappe.db.commit()
			committed = time.perf_counter()
			names.append(doc.name)
			latency = None
			while time.perf_counter() - committed < timeout:
				cursor.execute("SELECT 1 FROM `tabToDo` WHERE name = %s", (doc.name,))
				if cursor.fetchone():
					latency = time.perf_counter() - committed
					break
				time.sleep(0.005)
			latencies.append(latency)
			time.sleep(gap)
	connection.close()
	return {"names": names, "latencies": latencies}


def task_inspect() -> dict:
	"""What this site already streams, so that the benchmark never measures on top of it."""
	import frappe

	row = frappe.qb.DocType("Event Consumer Document Type")
	streams = (
		frappe.qb.from_(row)
		.select(row.parent, row.ref_doctype)
		.where((row.status == "Approved") & (row.unsubscribed == 0) & row.ref_doctype.isin(list(SUBSCRIBED)))
		.run(as_list=True)
	)
	return {
		"apps": frappe.get_installed_apps(),
		"url": frappe.utils.get_url(),
		"streams": streams,
		"producers": frappe.get_all("Event Producer", pluck="name"),
		"positions": frappe.get_all("Event Producer Last Update", pluck="name"),
		"frappe_version": frappe.__version__,
		"now": frappe.utils.now(),
	}


def task_ensure_api_keys(user: str = "Administrator") -> dict:
	import frappe
	from frappe.utils.password import get_decrypted_password, set_encrypted_password

	key = frappe.db.get_value("User", user, "api_key")
	secret = get_decrypted_password("User", user, "api_secret", raise_exception=False) if key else None
	created_key = created_secret = False
	if not key:
		key = frappe.generate_hash(length=15)
		frappe.db.set_value("User", user, "api_key", key, update_modified=False)
		created_key = True
	if not secret:
		secret = frappe.generate_hash(length=15)
		set_encrypted_password("User", user, secret, "api_secret")
		created_secret = True
	return {
		"api_key": key,
		"api_secret": secret,
		"created_key": created_key,
		"created_secret": created_secret,
	}


def task_remove_api_keys(created_key: bool, created_secret: bool, user: str = "Administrator") -> dict:
	import frappe
	from frappe.utils.password import remove_encrypted_password

	if created_secret:
		remove_encrypted_password("User", user, "api_secret")
	if created_key:
		frappe.db.set_value("User", user, "api_key", None, update_modified=False)
	return {}


def task_subscribe(producer_url: str, api_key: str, api_secret: str) -> dict:
	"""Subscribe this (consumer) site to the producer: registration runs over HTTP as usual."""
	import frappe

	doc = frappe.get_doc(
		{
			"doctype": "Event Producer",
			"producer_url": producer_url,
			"user": "Administrator",
			"api_key": api_key,
			"api_secret": api_secret,
			"producer_doctypes": [{"ref_doctype": doctype, "use_same_name": 1} for doctype in SUBSCRIBED],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	return {"consumer_url": frappe.utils.get_url(), "protocol": doc.protocol_version}


def task_approve(consumer_urls: list[str], status: str = "Approved") -> dict:
	"""Set every row of these Event Consumers to ``status`` directly (nothing mirrored, no settings
	touched). Pending rows are not streamed: capture writes nothing and nobody is notified for them."""
	import frappe

	from event_streaming.streaming import capture

	for url in consumer_urls:
		if not frappe.db.exists("Event Consumer", url):
			raise BenchmarkError(f"the producer has no Event Consumer {url}")
		frappe.db.set_value(
			"Event Consumer Document Type",
			{"parent": url, "parenttype": "Event Consumer"},
			"status",
			status,
			update_modified=False,
		)
	frappe.db.commit()
	capture.clear_streamed_cache()
	return {}


def task_add_fake_consumers(urls: list[str]) -> dict:
	"""Register consumers that never answer (their callback URLs point at closed local ports)."""
	import frappe

	for url in urls:
		frappe.get_doc(
			{
				"doctype": "Event Consumer",
				"callback_url": url,
				"user": "Administrator",
				"api_key": "benchmark",
				"api_secret": "benchmark",
				"consumer_doctypes": [{"ref_doctype": doctype} for doctype in SUBSCRIBED],
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()
	return task_approve(urls)


def drop_document(doctype: str, name: str, since: str) -> None:
	"""Remove a record we made without leaving a Deleted Document or log behind, with the Versions
	written since ``since`` (the app's db_set calls during registration write one)."""
	import frappe
	from frappe.utils.password import delete_all_passwords_for

	frappe.db.delete("Version", {"ref_doctype": doctype, "docname": name, "creation": (">=", since)})
	if not frappe.db.exists(doctype, name):
		return
	for df in frappe.get_meta(doctype).get_table_fields():
		frappe.db.delete(df.options, {"parent": name, "parenttype": doctype})
	frappe.db.delete(doctype, {"name": name})
	delete_all_passwords_for(doctype, name)


def task_drop_consumers(urls: list[str], since: str) -> dict:
	import frappe

	from event_streaming.streaming import capture

	for url in urls:
		drop_document("Event Consumer", url, since)
		frappe.db.delete("Event Update Log Consumer", {"consumer": url})
	frappe.db.commit()
	capture.clear_streamed_cache()
	return {}


def task_unsubscribe(producer_url: str, since: str) -> dict:
	import frappe

	drop_document("Event Producer", producer_url, since)
	frappe.db.delete("Event Producer Last Update", {"event_producer": producer_url})
	frappe.db.commit()
	return {}


TASKS = {
	"write": task_write,
	"local_insert": task_local_insert,
	"pull": task_pull,
	"single_changes": task_single_changes,
	"inspect": task_inspect,
	"ensure_api_keys": task_ensure_api_keys,
	"remove_api_keys": task_remove_api_keys,
	"subscribe": task_subscribe,
	"approve": task_approve,
	"add_fake_consumers": task_add_fake_consumers,
	"drop_consumers": task_drop_consumers,
	"unsubscribe": task_unsubscribe,
}


def run_task_here(args) -> None:
	import frappe

	frappe.init(site=args.site, sites_path=str(Path(args.bench) / "sites"))
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		result = TASKS[args.task](**json.loads(args.params))
		frappe.db.commit()
	finally:
		frappe.destroy()
	Path(args.result).write_text(json.dumps(result, default=str))


# --- the driver ----------------------------------------------------------------------------------


def summary(values: list) -> dict | None:
	values = [value for value in values if value is not None]
	if not values:
		return None
	return {"median": statistics.median(values), "min": min(values), "max": max(values), "values": values}


def percentile(values: list[float], fraction: float) -> float:
	ordered = sorted(values)
	position = (len(ordered) - 1) * fraction
	low = int(position)
	high = min(low + 1, len(ordered) - 1)
	return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Benchmark:
	def __init__(self, args):
		self.args = args
		self.bench = Path(args.bench).resolve()
		self.sites_path = self.bench / "sites"
		self.python = str(self.bench / "env" / "bin" / "python")
		self.logs = self.bench / "logs" / "event_streaming_benchmark"
		self.logs.mkdir(parents=True, exist_ok=True)
		self.access_log = self.logs / "access.log"
		self.prefix = f"esb{uuid.uuid4().hex[:8]}"
		self.runs = args.runs
		self.sizes = [args.n] + ([args.scale_n] if args.scale else [])
		self.sites = {site: self.site_config(site) for site in (PRODUCER, CONSUMER)}
		common = json.loads((self.sites_path / "common_site_config.json").read_text())
		self.redis_cache_url = common.get("redis_cache")
		self.redis_queue_url = common.get("redis_queue")
		self.root = {
			"host": self.sites[PRODUCER].get("db_host") or "127.0.0.1",
			"port": int(self.sites[PRODUCER].get("db_port") or 3306),
			"user": "root",
			"password": args.db_root_password,
		}
		self.env = dict(
			os.environ,
			EVENT_STREAMING_BENCH=str(self.bench),
			EVENT_STREAMING_PORT=str(args.port),
			EVENT_STREAMING_DB_ROOT_PASSWORD=args.db_root_password,
			EVENT_STREAMING_LOGS=str(self.logs),
		)
		self.producer_url = self.sites[PRODUCER].get("host_name") or f"http://{PRODUCER}:{args.port}"
		self.consumer_url = None
		self.fake_urls = [f"http://127.0.0.1:{port}" for port in closed_ports(2)]
		self.web = None
		self.worker = None
		self.worker_key = None
		self.worker_queues: list[str] = []
		self.subscribed = False
		self.fakes_added = False
		self.api_keys: dict[str, dict] = {}
		self.site_start: dict[str, str] = {}
		self.userstat_before = None
		self.db = None
		self.redis_cache = None
		self.redis_queue = None
		self.results: dict = {}
		self.notes: list[str] = []

	# --- plumbing ---------------------------------------------------------------------------

	def site_config(self, site: str) -> dict:
		path = self.sites_path / site / "site_config.json"
		if not path.exists():
			raise BenchmarkError(
				f"{site} does not exist; run scripts/two_site_tests.sh once to create both sites"
			)
		return json.loads(path.read_text())

	def say(self, message: str) -> None:
		print(f"== {message}", flush=True)

	def lib(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
		return subprocess.run(["bash", str(LIB), *command], env=self.env, **kwargs)

	def task(self, site: str, name: str, wait: bool = True, **params):
		"""Run one task in its own process on ``site``; returns its result (or the running process)."""
		result = self.logs / f"task-{uuid.uuid4().hex}.json"
		log = open(self.logs / "tasks.log", "ab")
		log.write(f"--- {time.strftime('%H:%M:%S')} {site} {name}\n".encode())
		log.flush()
		process = subprocess.Popen(
			[self.python, str(Path(__file__).resolve()), "--task", name, "--site", site, "--bench", str(self.bench),
				"--params", json.dumps(params), "--result", str(result)],
			cwd=self.sites_path, stdout=log, stderr=subprocess.STDOUT,
		)  # fmt: skip
		log.close()
		process.benchmark_task = (name, result)
		return process if not wait else self.task_result(process)

	def task_result(self, process):
		name, result = process.benchmark_task
		process.wait()
		if process.returncode or not result.exists():
			raise BenchmarkError(
				f"task {name} failed (exit {process.returncode}); see {self.logs / 'tasks.log'}"
			)
		value = json.loads(result.read_text())
		result.unlink()
		return value

	def sql(self, query: str, values=None) -> list:
		with self.db.cursor() as cursor:
			cursor.execute(query, values)
			return list(cursor.fetchall())

	def table(self, site: str, doctype: str) -> str:
		name = doctype if doctype.startswith("__") else f"tab{doctype}"
		return f"`{self.sites[site]['db_name']}`.`{name}`"

	def count(self, site: str, doctype: str, where: str = "", values=None) -> int:
		return self.sql(f"SELECT COUNT(*) FROM {self.table(site, doctype)} {where}", values)[0][0]

	# --- services ---------------------------------------------------------------------------

	def start_web_server(self) -> None:
		if self.lib("web-server-up").returncode == 0:
			raise BenchmarkError(
				f"port {self.args.port} is already in use; stop that server (it may serve another version of the app)"
			)
		self.say(f"starting web server on port {self.args.port}")
		self.access_log.write_bytes(b"")
		with open(self.logs / "web.log", "ab") as log:
			self.web = subprocess.Popen(
				["bash", str(LIB), "run-web-server", "--access-logfile", str(self.access_log),
					"--access-logformat", ACCESS_LOG_FORMAT],
				env=self.env, stdout=log, stderr=subprocess.STDOUT,
			)  # fmt: skip
		for _ in range(60):
			if self.lib("web-server-up").returncode == 0:
				return
			if self.web.poll() is not None:
				break
			time.sleep(1)
		raise BenchmarkError(f"web server did not start (see {self.logs / 'web.log'})")

	def start_worker(self, queues: str = "short,default,long") -> None:
		self.say(f"starting background worker ({queues})")
		with open(self.logs / "worker.log", "ab") as log:
			self.worker = subprocess.Popen(
				["bash", str(LIB), "run-worker", queues], env=self.env, stdout=log, stderr=subprocess.STDOUT
			)
		self.worker_queues = queues.split(",")
		deadline = time.monotonic() + 60
		while time.monotonic() < deadline:
			for key in self.redis_queue.keys("rq:worker:*"):
				if self.redis_queue.hget(key, "pid") == str(self.worker.pid).encode():
					self.worker_key = key
					return
			if self.worker.poll() is not None:
				break
			time.sleep(0.2)
		raise BenchmarkError(f"worker did not start (see {self.logs / 'worker.log'})")

	def stop(self, process, what: str) -> None:
		if process is None or process.poll() is not None:
			return
		self.say(f"stopping {what}")
		process.terminate()
		try:
			process.wait(timeout=60)
		except subprocess.TimeoutExpired:
			process.kill()
			process.wait()

	def stop_worker(self) -> None:
		self.stop(self.worker, "background worker")
		self.worker = None
		self.worker_queues = []

	def queued_jobs(self, queues: list[str]) -> int:
		"""Jobs waiting in these queues, plus one if our worker is running a job now."""
		total = sum(
			self.redis_queue.llen(key)
			for queue in queues
			for key in self.redis_queue.keys(f"rq:queue:*:{queue}")
		)
		if self.worker and self.redis_queue.hget(self.worker_key, "state") == b"busy":
			total += 1
		return total

	def statements(self) -> dict[str, int] | None:
		"""SQL statements issued so far by each site's database user (MariaDB userstat)."""
		if self.userstat_before is None:
			return None
		users = {self.sites[site]["db_name"]: site for site in (PRODUCER, CONSUMER)}
		rows = self.sql(
			"SELECT USER, SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS "
			"FROM information_schema.USER_STATISTICS WHERE USER IN %s",
			(list(users),),
		)
		result = {site: 0 for site in (PRODUCER, CONSUMER)}
		for user, total in rows:
			result[users[user]] = int(total)
		return result

	def wait_quiet(self, quiet: float = 1.0, timeout: float = 600) -> None:
		"""Wait until no site issues SQL, no request is logged and the worker has nothing queued."""
		last, since = None, time.monotonic()
		deadline = since + timeout
		while time.monotonic() < deadline:
			jobs = self.queued_jobs(self.worker_queues) if self.worker else 0
			state = (self.statements(), self.access_log.stat().st_size, jobs)
			now = time.monotonic()
			if state != last:
				last, since = state, now
			elif now - since >= quiet and jobs == 0:
				return
			time.sleep(0.2)
		self.notes.append(
			"the bench did not go quiet within the timeout once; a figure may include stray work"
		)

	def mark(self) -> dict:
		return {"sql": self.statements(), "access": self.access_log.stat().st_size, "rows": self.log_rows()}

	def log_rows(self) -> dict[str, int]:
		return {
			"Event Update Log": self.count(PRODUCER, "Event Update Log"),
			"Event Update Log Consumer": self.count(PRODUCER, "Event Update Log Consumer"),
			"Event Sync Log": self.count(CONSUMER, "Event Sync Log"),
		}

	def costs(self, before: dict, after: dict, docs: int) -> dict:
		"""Per-document costs between two marks."""
		http = {PRODUCER: Counter(), CONSUMER: Counter()}
		paths = {PRODUCER: Counter(), CONSUMER: Counter()}
		with open(self.access_log, "rb") as log:
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

	# --- cleanup ----------------------------------------------------------------------------

	def delete_docs(self, site: str, doctype: str, names: list[str]) -> None:
		for chunk in chunks(names):
			for child in CHILD_TABLES.get(doctype, []):
				self.sql(
					f"DELETE FROM {self.table(site, child)} WHERE parent IN %s AND parenttype = %s",
					(chunk, doctype),
				)
			self.sql(f"DELETE FROM {self.table(site, doctype)} WHERE name IN %s", (chunk,))

	def delete_update_logs(self, doctype: str, docnames: list[str]) -> None:
		"""Only safe before any consumer read them: a deleted top sequence would be numbered again."""
		for chunk in chunks(docnames):
			logs = [
				row[0]
				for row in self.sql(
					f"SELECT name FROM {self.table(PRODUCER, 'Event Update Log')} WHERE ref_doctype = %s AND docname IN %s",
					(doctype, chunk),
				)
			]
			self.delete_logs(logs)

	def delete_logs(self, logs: list[str]) -> None:
		for chunk in chunks(logs):
			self.sql(
				f"DELETE FROM {self.table(PRODUCER, 'Event Update Log Consumer')} WHERE parent IN %s",
				(chunk,),
			)
			self.sql(f"DELETE FROM {self.table(PRODUCER, 'Event Update Log')} WHERE name IN %s", (chunk,))

	def delete_sync_logs(self, doctype: str, docnames: list[str]) -> None:
		for chunk in chunks(docnames):
			self.sql(
				f"DELETE FROM {self.table(CONSUMER, 'Event Sync Log')} WHERE ref_doctype = %s AND producer_doc IN %s",
				(doctype, chunk),
			)

	def sweep(self) -> None:
		"""Remove everything tagged with this run's prefix from both sites (docs, logs, sync logs)."""
		like = f"{self.prefix}%"
		for site in (PRODUCER, CONSUMER):
			for doctype, field in TITLE_FIELD.items():
				names = [
					row[0]
					for row in self.sql(
						f"SELECT name FROM {self.table(site, doctype)} WHERE `{field}` LIKE %s", (like,)
					)
				]
				self.delete_docs(site, doctype, names)
		contains = f"%{self.prefix}%"
		logs = [
			row[0]
			for row in self.sql(
				f"SELECT name FROM {self.table(PRODUCER, 'Event Update Log')} WHERE data LIKE %s", (contains,)
			)
		]
		self.delete_logs(logs)
		self.sql(f"DELETE FROM {self.table(CONSUMER, 'Event Sync Log')} WHERE data LIKE %s", (contains,))

	def clean_redis(self) -> None:
		"""Drop our entries from each site's global search queue and the job marks we left."""
		for site in (PRODUCER, CONSUMER):
			db_name = self.sites[site]["db_name"]
			key = f"{db_name}|global_search_queue"
			entries = self.redis_cache.lrange(key, 0, -1)
			keep = [entry for entry in entries if self.prefix.encode() not in entry]
			if len(keep) != len(entries):
				pipe = self.redis_cache.pipeline()
				pipe.delete(key)
				if keep:
					pipe.rpush(key, *keep)
				pipe.execute()
			for mark in self.redis_cache.keys(f"{db_name}|event_streaming::*"):
				if mark not in self.cache_keys_before and (b"::pending::" in mark or b"::queued::" in mark):
					self.redis_cache.delete(mark)

	def state(self) -> dict:
		counts = {
			f"{site} {doctype}": self.count(site, doctype)
			for site, tables in STATE_TABLES.items()
			for doctype in tables
		}
		for site in (PRODUCER, CONSUMER):
			db_name = self.sites[site]["db_name"]
			counts[f"{site} global search queue"] = self.redis_cache.llen(f"{db_name}|global_search_queue")
			counts[f"{site} Administrator api_key"] = self.sql(
				f"SELECT api_key FROM {self.table(site, 'User')} WHERE name = 'Administrator'"
			)[0][0]
		return counts

	# --- subscription -----------------------------------------------------------------------

	def preflight(self) -> None:
		linked = (self.bench / "apps" / "event_streaming").resolve()
		if linked != REPO:
			raise BenchmarkError(
				f"the bench runs {linked}, not this checkout; run scripts/two_site_tests.sh once"
			)
		for site in (PRODUCER, CONSUMER):
			try:
				socket.gethostbyname(site)
			except OSError:
				raise BenchmarkError(f"{site} does not resolve; add '127.0.0.1 {site}' to /etc/hosts")
		for site in (PRODUCER, CONSUMER):
			info = self.task(site, "inspect")
			if "event_streaming" not in info["apps"]:
				raise BenchmarkError(
					f"event_streaming is not installed on {site}; run scripts/two_site_tests.sh once"
				)
			if info["streams"]:
				raise BenchmarkError(
					f"{site} already streams {info['streams']}; remove that subscription first"
				)
			if site == CONSUMER:
				self.consumer_url = info["url"]
				if self.producer_url in info["producers"] or self.producer_url in info["positions"]:
					raise BenchmarkError(
						f"{site} is already subscribed to {self.producer_url}; remove it first"
					)
			self.frappe_version = info["frappe_version"]
			self.site_start[site] = info["now"]

	def ensure_api_keys(self) -> None:
		for site in (PRODUCER, CONSUMER):
			if site not in self.api_keys:
				self.api_keys[site] = self.task(site, "ensure_api_keys")

	def subscribe(self) -> None:
		self.say("subscribing the consumer to ToDo and Note (one approved consumer)")
		self.ensure_api_keys()
		keys = self.api_keys[PRODUCER]
		self.subscribed = True
		reply = self.task(
			CONSUMER,
			"subscribe",
			producer_url=self.producer_url,
			api_key=keys["api_key"],
			api_secret=keys["api_secret"],
		)
		self.consumer_url = reply["consumer_url"]
		self.task(PRODUCER, "approve", consumer_urls=[self.consumer_url])

	def unsubscribe(self) -> None:
		self.say("removing the subscription from both sites")
		self.task(CONSUMER, "unsubscribe", producer_url=self.producer_url, since=self.site_start[CONSUMER])
		self.task(
			PRODUCER,
			"drop_consumers",
			urls=[self.consumer_url, *self.fake_urls],
			since=self.site_start[PRODUCER],
		)
		self.subscribed = self.fakes_added = False

	# --- measurements -----------------------------------------------------------------------

	def tag(self, size: int, what: str) -> str:
		return f"{self.prefix}-{size}-{what}"

	def measure_writes(self, size: int) -> dict:
		"""1. Producer write overhead with 0, 1 and 3 approved consumers.

		The three conditions alternate within each run, in a rotating order, so that the drift of a
		shared machine (disk flushes, caches) falls on all of them alike. Between conditions only the
		approval of the registered consumers changes: with none approved nothing is captured or
		notified, exactly as with no consumer at all."""
		out = {"seconds": {}, "costs": {}}
		self.start_worker("short")
		self.subscribe()
		self.say(f"registering two unreachable consumers on the producer ({', '.join(self.fake_urls)})")
		self.fakes_added = True
		self.task(PRODUCER, "add_fake_consumers", urls=self.fake_urls)
		everyone = [self.consumer_url, *self.fake_urls]
		conditions = (0, 1, 3)
		for run in range(self.runs):
			for turn in range(len(conditions)):
				consumers = conditions[(run + turn) % len(conditions)]
				if everyone[consumers:]:
					self.task(PRODUCER, "approve", consumer_urls=everyone[consumers:], status="Pending")
				if everyone[:consumers]:
					self.task(PRODUCER, "approve", consumer_urls=everyone[:consumers])
				for doctype in WRITE_DOCTYPES:
					key = f"{doctype} {consumers}"
					self.wait_quiet()
					before = self.mark()
					result = self.task(
						PRODUCER,
						"write",
						doctype=doctype,
						tag=self.tag(size, f"w{consumers}{run}"),
						count=size,
					)
					self.wait_quiet()
					cost = self.costs(before, self.mark(), size)
					# nothing has read these logs (no consumer pulls during this step), so they can go now
					self.delete_update_logs(doctype, result["names"])
					self.delete_docs(PRODUCER, doctype, result["names"])
					out["seconds"].setdefault(key, []).append(result["seconds"])
					out["costs"].setdefault(key, []).append(cost)
					self.say(
						f"N={size} write {doctype}, {consumers} consumer(s), run {run + 1}/{self.runs}: "
						f"{result['seconds']:.2f} s, {cost.get('sql_producer', 0):.1f} SQL/doc"
					)
		self.stop_worker()
		self.task(PRODUCER, "approve", consumer_urls=[self.consumer_url])
		self.task(PRODUCER, "drop_consumers", urls=self.fake_urls, since=self.site_start[PRODUCER])
		self.fakes_added = False
		return out

	def warm_producer_web_workers(self, rounds: int = 2) -> None:
		"""Have every web worker of the producer serve the feed and an acknowledgement before a pull is
		timed, as the workers of a site that has been running have: a worker's first call of each
		costs about 0.2 s of Frappe start-up (site, hooks, metadata), which belongs to no document."""
		from concurrent.futures import ThreadPoolExecutor

		import requests

		keys = self.api_keys[PRODUCER]
		headers = {"Authorization": f"token {keys['api_key']}:{keys['api_secret']}"}
		base = f"{self.producer_url}/api/method/event_streaming.api"

		def feed_and_acknowledge(_):
			with requests.Session() as session:
				for method, data in (
					("get_update_log_page", {"event_consumer": self.consumer_url, "after": 0, "limit": 1}),
					("acknowledge_update_logs", {"event_consumer": self.consumer_url, "cursor": 0}),
				):
					session.post(
						f"{base}.{method}", data=data, headers=headers, timeout=60
					).raise_for_status()

		# concurrent calls, so that each worker takes some instead of one worker taking them all
		with ThreadPoolExecutor(WEB_WORKERS) as pool:
			list(pool.map(feed_and_acknowledge, range(WEB_WORKERS * rounds)))

	def measure_catchup(self, size: int) -> dict:
		"""2. One pull of N waiting documents, no worker, against inserting them locally."""
		out = {}
		self.warm_producer_web_workers()
		for run in range(self.runs):
			for doctype in CATCHUP_DOCTYPES:
				tag = self.tag(size, f"c{run}")
				rows_before = self.log_rows()
				written = self.task(PRODUCER, "write", doctype=doctype, tag=tag, count=size)
				local = self.task(
					CONSUMER, "local_insert", doctype=doctype, tag=f"{tag}L", count=size, page=APPLY_PAGE
				)
				self.wait_quiet()
				before = self.mark()
				pulled = self.task(CONSUMER, "pull", producer_url=self.producer_url, tag=f"{tag}P")
				self.wait_quiet()
				after = self.mark()
				cost = self.costs(before, after, size)
				for table, rows in after["rows"].items():
					cost[f"rows {table}"] = (rows - rows_before[table]) / size
				if pulled["applied"] != size or pulled["failed"]:
					self.notes.append(
						f"catch-up N={size} {doctype} run {run + 1}: applied {pulled['applied']} of {size}, "
						f"{pulled['failed']} failed"
					)
				self.delete_docs(PRODUCER, doctype, written["names"])
				self.delete_docs(CONSUMER, doctype, written["names"] + local["names"])
				self.delete_sync_logs(doctype, written["names"])
				# the update logs stay until the subscription is gone: the consumer's cursor is past them
				entry = out.setdefault(
					doctype, {"pull": [], "rate": [], "local_rate": [], "ratio": [], "costs": []}
				)
				rate = size / pulled["seconds"]
				local_rate = size / local["seconds"]
				entry["pull"].append(pulled["seconds"])
				entry["rate"].append(rate)
				entry["local_rate"].append(local_rate)
				entry["ratio"].append(rate / local_rate)
				entry["costs"].append(cost)
				self.say(
					f"N={size} catch-up {doctype}, run {run + 1}/{self.runs}: pull {pulled['seconds']:.2f} s "
					f"({rate:.0f} docs/s), local insert {local_rate:.0f} docs/s"
				)
		return out

	def measure_stream(self, size: int) -> dict:
		"""3. End to end with the worker running: a burst of N writes, then single changes."""
		out = {
			"e2e": [],
			"tail": [],
			"write": [],
			"costs": [],
			"p50": [],
			"p95": [],
			"max": [],
			"single_costs": [],
		}
		self.start_worker()
		self.wait_quiet()
		for run in range(self.runs):
			tag = self.tag(size, f"s{run}")
			before = self.mark()
			process = self.task(PRODUCER, "write", wait=False, doctype="ToDo", tag=tag, count=size)
			deadline = time.monotonic() + max(300, size * 0.5)
			done_at = None
			while time.monotonic() < deadline:
				if self.count(CONSUMER, "ToDo", "WHERE description LIKE %s", (f"{tag}-%",)) >= size:
					done_at = time.time()
					break
				if process.poll() not in (None, 0):
					break
				time.sleep(0.1)
			written = self.task_result(process)
			self.wait_quiet()
			cost = self.costs(before, self.mark(), size)
			self.delete_docs(PRODUCER, "ToDo", written["names"])
			self.delete_docs(CONSUMER, "ToDo", written["names"])
			self.delete_sync_logs("ToDo", written["names"])
			if done_at is None:
				self.notes.append(
					f"end to end N={size} run {run + 1}: the consumer did not receive all documents"
				)
			else:
				out["e2e"].append(done_at - written["first_write"])
				out["tail"].append(done_at - written["last_commit"])
			out["write"].append(written["seconds"])
			out["costs"].append(cost)
			self.say(
				f"N={size} end to end, run {run + 1}/{self.runs}: "
				+ (f"{done_at - written['first_write']:.2f} s" if done_at else "incomplete")
				+ f" (writes took {written['seconds']:.2f} s)"
			)

			tag = self.tag(size, f"l{run}")
			changes = self.args.changes
			before = self.mark()
			singles = self.task(
				PRODUCER,
				"single_changes",
				tag=tag,
				count=changes,
				gap=self.args.gap,
				timeout=60,
				consumer_db=self.sites[CONSUMER]["db_name"],
				root=self.root,
			)
			self.wait_quiet()
			out["single_costs"].append(self.costs(before, self.mark(), changes))
			self.delete_docs(PRODUCER, "ToDo", singles["names"])
			self.delete_docs(CONSUMER, "ToDo", singles["names"])
			self.delete_sync_logs("ToDo", singles["names"])
			latencies = [value for value in singles["latencies"] if value is not None]
			if len(latencies) < changes:
				self.notes.append(
					f"single changes run {run + 1}: {changes - len(latencies)} never arrived within 60 s"
				)
			if latencies:
				out["p50"].append(percentile(latencies, 0.5))
				out["p95"].append(percentile(latencies, 0.95))
				out["max"].append(max(latencies))
				self.say(
					f"N={size} single changes, run {run + 1}/{self.runs}: p50 {out['p50'][-1] * 1000:.0f} ms, "
					f"p95 {out['p95'][-1] * 1000:.0f} ms, max {out['max'][-1] * 1000:.0f} ms"
				)
		return out

	def measure_size(self, size: int) -> dict:
		result = {}
		phases = self.args.phases
		if "writes" in phases:
			result["writes"] = self.measure_writes(size)
		if not self.subscribed and ({"catchup", "stream"} & set(phases)):
			self.subscribe()
		if "catchup" in phases:
			if self.worker:
				self.stop_worker()
			result["catchup"] = self.measure_catchup(size)
		if "stream" in phases:
			result["stream"] = self.measure_stream(size)
		self.end_size()
		return result

	def end_size(self) -> None:
		"""Unsubscribe, then remove everything tagged (update logs only now: no cursor points at them)."""
		if self.subscribed or self.fakes_added:
			self.unsubscribe()
		self.sweep()
		self.drain()

	def drain(self) -> None:
		"""Let a worker run whatever our writes queued (a queued mark without its job delays the next one)."""
		everything = ["short", "default", "long"]
		if not self.queued_jobs(everything) and not self.worker:
			return
		if self.worker_queues != everything:
			self.stop_worker()
			self.start_worker()
		self.wait_quiet()
		self.stop_worker()

	# --- the whole run ----------------------------------------------------------------------

	def run(self) -> dict:
		started = time.monotonic()
		self.code, digest = code_version()
		import pymysql
		import redis

		self.say("checking MariaDB and Redis")
		if self.lib("ensure-backing").returncode:
			raise BenchmarkError("MariaDB or Redis could not be started")
		self.db = pymysql.connect(autocommit=True, **self.root)
		self.redis_cache = redis.Redis.from_url(self.redis_cache_url)
		self.redis_queue = redis.Redis.from_url(self.redis_queue_url)
		self.cache_keys_before = set()
		for site in (PRODUCER, CONSUMER):
			self.cache_keys_before |= set(
				self.redis_cache.keys(f"{self.sites[site]['db_name']}|event_streaming::*")
			)
		self.preflight()
		try:
			self.start_web_server()
			if self.queued_jobs(["short", "default", "long"]):
				# jobs an earlier run left behind would otherwise run in the middle of a measurement
				self.say("letting a worker finish the jobs earlier runs left queued")
				self.drain()
			state_before = self.state()
			self.enable_userstat()
			for size in self.sizes:
				self.say(f"measuring N={size} ({self.runs} runs)")
				self.results[size] = self.measure_size(size)
		finally:
			self.teardown()
		state_after = self.state()
		changed = {
			key: (value, state_after.get(key))
			for key, value in state_before.items()
			if value != state_after.get(key)
		}
		if changed:
			self.notes.append(f"site state differs from the start: {changed}")
		code_after, digest_after = code_version()
		if digest_after != digest:
			self.notes.append(
				f"the app's code changed during the run ({self.code} → {code_after}); figures may mix both"
			)
		self.wall_time = time.monotonic() - started
		return self.report()

	def enable_userstat(self) -> None:
		try:
			self.userstat_before = self.sql("SELECT @@GLOBAL.userstat")[0][0]
			self.sql("SET GLOBAL userstat = 1")
		except Exception as error:
			self.userstat_before = None
			self.notes.append(f"no per-site SQL counts: MariaDB userstat is unavailable ({error})")

	def teardown(self) -> None:
		steps = [
			("subscription", lambda: (self.subscribed or self.fakes_added) and self.unsubscribe()),
			("tagged documents and logs", self.sweep),
			("queued jobs", self.drain),
			("redis entries", self.clean_redis),
			("api keys", self.remove_api_keys),
			("web server", lambda: self.stop(self.web, "web server")),
			("worker", self.stop_worker),
			("userstat", self.restore_userstat),
		]
		for what, step in steps:
			try:
				step()
			except Exception as error:
				print(f"benchmark: could not clean up {what}: {error}", file=sys.stderr)

	def remove_api_keys(self) -> None:
		for site, keys in self.api_keys.items():
			if keys["created_key"] or keys["created_secret"]:
				self.task(
					site,
					"remove_api_keys",
					created_key=keys["created_key"],
					created_secret=keys["created_secret"],
				)

	def restore_userstat(self) -> None:
		if self.userstat_before is not None:
			self.sql("SET GLOBAL userstat = %s", (int(self.userstat_before),))

	# --- the report -------------------------------------------------------------------------

	def machine(self) -> str:
		cpu = next(
			(
				line.split(":", 1)[1].strip()
				for line in open("/proc/cpuinfo")
				if line.startswith("model name")
			),
			"?",
		)
		memory = next(
			(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0
		)
		version, flush, datadir = self.sql("SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@datadir")[0]
		device = subprocess.run(
			["df", "--output=source", datadir], capture_output=True, text=True
		).stdout.split()[-1]
		rotational = Path(f"/sys/block/{Path(device).name}/queue/rotational")
		disk = f"{device} (rotational={rotational.read_text().strip() if rotational.exists() else '?'})"
		return (
			f"{cpu}, {os.cpu_count()} CPUs, {memory / 1048576:.0f} GB RAM; MariaDB {version} "
			f"(innodb_flush_log_at_trx_commit={flush}) on {disk}; Frappe {self.frappe_version}"
		)

	def report(self) -> dict:
		sizes = list(self.results)
		data = {
			"command": " ".join(sys.argv),
			"date": time.strftime("%Y-%m-%d %H:%M"),
			"machine": self.machine(),
			"code": self.code,
			"runs": self.runs,
			"sizes": sizes,
			"wall_time_s": self.wall_time,
			"notes": self.notes,
			"results": {},
		}
		rows = []

		def add(
			label: str, values_by_size: dict, unit: str = "", scale: float = 1, extra: dict | None = None
		):
			cells = {}
			for size in sizes:
				stats = summary([v * scale for v in values_by_size.get(size, []) if v is not None])
				cells[size] = figure(stats, unit) + ((extra or {}).get(size) or "")
				data["results"].setdefault(label, {})[str(size)] = stats
			rows.append((label, cells))

		def section(title: str):
			rows.append((f"**{title}**", {size: "" for size in sizes}))

		def pick(size, *path):
			value = self.results.get(size, {})
			for key in path:
				value = value.get(key, {}) if isinstance(value, dict) else {}
			return value or []

		def cost_values(size, path, metric):
			return [cost.get(metric) for cost in pick(size, *path)]

		if any("writes" in self.results[size] for size in sizes):
			section("1. Producer write overhead: N inserts, one commit each (ratio to no consumer)")
			for doctype in WRITE_DOCTYPES:
				label = "ToDo" if doctype == "ToDo" else "Note with 2 seen_by rows"
				for consumers in (0, 1, 3):
					key = f"{doctype} {consumers}"
					ratios = {}
					for size in sizes:
						base = pick(size, "writes", "seconds", f"{doctype} 0")
						this = pick(size, "writes", "seconds", key)
						if consumers and base and this:
							# each run's ratio to the no-consumer writes of the same run, then the median
							per_run = summary(
								[mine / theirs for mine, theirs in zip(this, base, strict=True)]
							)
							ratios[size] = (
								f" ×{per_run['median']:.2f} [{per_run['min']:.2f}–{per_run['max']:.2f}]"
							)
							data["results"].setdefault(f"{label}, ratio with {consumers}", {})[str(size)] = (
								per_run
							)
					who = {0: "no consumer", 1: "1 approved consumer", 3: "3 consumers (2 unreachable)"}[
						consumers
					]
					add(
						f"{label}, {who}",
						{size: pick(size, "writes", "seconds", key) for size in sizes},
						" s",
						extra=ratios,
					)
			for consumers in (0, 1, 3):
				add(
					f"Producer SQL per ToDo write, {consumers} consumer(s) (incl. background notify)",
					{
						size: cost_values(size, ("writes", "costs", f"ToDo {consumers}"), "sql_producer")
						for size in sizes
					},
				)
		if any("catchup" in self.results[size] for size in sizes):
			section("2. Catch-up: worker stopped, one pull_now of N waiting documents")
			for doctype in CATCHUP_DOCTYPES:
				label = "ToDo" if doctype == "ToDo" else "Note+2 rows"
				add(
					f"{label}: pull and apply",
					{size: pick(size, "catchup", doctype, "pull") for size in sizes},
					" s",
				)
				add(
					f"{label}: apply rate",
					{size: pick(size, "catchup", doctype, "rate") for size in sizes},
					" docs/s",
				)
				add(
					f"{label}: consumer's local insert rate (commit per {APPLY_PAGE})",
					{size: pick(size, "catchup", doctype, "local_rate") for size in sizes},
					" docs/s",
				)
				add(
					f"{label}: apply rate / local insert rate",
					{size: pick(size, "catchup", doctype, "ratio") for size in sizes},
				)
		if any("stream" in self.results[size] for size in sizes):
			section("3. End to end, worker running")
			add(
				"First write → consumer holds all N",
				{size: pick(size, "stream", "e2e") for size in sizes},
				" s",
			)
			add(
				"Last write → consumer holds all N",
				{size: pick(size, "stream", "tail") for size in sizes},
				" s",
			)
			add(
				"N writes while streaming took", {size: pick(size, "stream", "write") for size in sizes}, " s"
			)
			for name, key in (("p50", "p50"), ("p95", "p95"), ("max", "max")):
				add(
					f"Single change latency {name} ({self.args.changes} changes, commit → on consumer)",
					{size: pick(size, "stream", key) for size in sizes},
					" ms",
					scale=1000,
				)
		scenarios = [
			("catch-up ToDo", ("catchup", "ToDo", "costs")),
			("catch-up Note", ("catchup", "Note", "costs")),
			("streaming ToDo", ("stream", "costs")),
			("single changes", ("stream", "single_costs")),
		]
		metrics = [
			("HTTP requests served by producer", "http_producer", ""),
			("HTTP requests served by consumer", "http_consumer", ""),
			("HTTP body bytes (both ways)", "bytes", " B"),
			("SQL statements by producer", "sql_producer", ""),
			("SQL statements by consumer", "sql_consumer", ""),
			("Rows added: Event Update Log", "rows Event Update Log", ""),
			("Rows added: Event Update Log Consumer", "rows Event Update Log Consumer", ""),
			("Rows added: Event Sync Log", "rows Event Sync Log", ""),
		]
		present = [(name, path) for name, path in scenarios if any(pick(size, *path) for size in sizes)]
		if present:
			section(
				"4. Costs per replicated document (streaming and single changes include the write itself)"
			)
			for label, metric, unit in metrics:
				for name, path in present:
					add(f"{label}: {name}", {size: cost_values(size, path, metric) for size in sizes}, unit)
			for name, path in present:
				for size in sizes:
					costs = pick(size, *path)
					if costs:
						data["results"].setdefault(f"requests by path: {name}", {})[str(size)] = costs[-1][
							"paths"
						]
		data["table"] = render(rows, sizes)
		return data


def figure(stats: dict | None, unit: str) -> str:
	if not stats:
		return "n/a"
	median, low, high = (number(stats[key]) for key in ("median", "min", "max"))
	return f"{median}{unit}" if low == high else f"{median}{unit} [{low}–{high}]"


def number(value: float) -> str:
	if value == 0:
		return "0"
	if abs(value) >= 100:
		return f"{value:.0f}"
	if abs(value) >= 10:
		return f"{value:.1f}"
	if abs(value) >= 1:
		return f"{value:.2f}"
	return f"{value:.3f}"


def render(rows: list, sizes: list[int]) -> str:
	header = ["Measurement (median [min–max])", *[f"N={size}" for size in sizes]]
	lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["--:"] * len(sizes)) + "|"]
	for label, cells in rows:
		lines.append("| " + " | ".join([label, *[cells.get(size, "") for size in sizes]]) + " |")
	return "\n".join(lines)


def to_int(value: str) -> int:
	try:
		return int(value)
	except ValueError:
		return 0


def chunks(values: list, size: int = 1000):
	for start in range(0, len(values), size):
		yield values[start : start + size]


def code_version() -> tuple[str, str]:
	"""The checkout being measured (commit, plus a note on local edits) and a digest of its code."""
	git = ["git", "-C", str(REPO)]
	head = subprocess.run(
		[*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
	).stdout.strip()
	edited = subprocess.run(
		[*git, "status", "--porcelain", "--", "event_streaming"], capture_output=True, text=True
	)
	digest = hashlib.sha1()
	for path in sorted((REPO / "event_streaming").rglob("*")):
		if path.suffix in (".py", ".json") and path.is_file():
			digest.update(str(path.relative_to(REPO)).encode() + path.read_bytes())
	label = (head or "unknown commit") + (" with uncommitted changes" if edited.stdout.strip() else "")
	return label, digest.hexdigest()


def closed_ports(count: int) -> list[int]:
	"""Local ports nothing listens on: a consumer there refuses every notification at once."""
	ports = []
	for _ in range(count):
		with socket.socket() as probe:
			probe.bind(("127.0.0.1", 0))
			ports.append(probe.getsockname()[1])
	return ports


def parse_args(argv=None):
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--bench", default=os.environ.get("EVENT_STREAMING_BENCH", "/opt/frappe-bench"))
	parser.add_argument("--n", type=int, default=500, help="documents per measurement (default 500)")
	parser.add_argument(
		"--runs", type=int, default=3, help="runs per figure; the median is reported (default 3)"
	)
	parser.add_argument("--scale", action="store_true", help="also measure at --scale-n documents")
	parser.add_argument("--scale-n", type=int, default=5000)
	parser.add_argument(
		"--changes", type=int, default=50, help="single changes for the latency figure (default 50)"
	)
	parser.add_argument("--gap", type=float, default=0.3, help="pause after each single change arrived (s)")
	parser.add_argument("--phases", default="writes,catchup,stream", help="subset of writes,catchup,stream")
	parser.add_argument("--json", help="also write the results to this JSON file")
	parser.add_argument("--port", type=int, default=int(os.environ.get("EVENT_STREAMING_PORT", 8000)))
	parser.add_argument(
		"--db-root-password", default=os.environ.get("EVENT_STREAMING_DB_ROOT_PASSWORD", "root")
	)
	# internal: run one task inside a site
	parser.add_argument("--task", help=argparse.SUPPRESS)
	parser.add_argument("--site", help=argparse.SUPPRESS)
	parser.add_argument("--params", help=argparse.SUPPRESS)
	parser.add_argument("--result", help=argparse.SUPPRESS)
	args = parser.parse_args(argv)
	args.phases = [phase.strip() for phase in args.phases.split(",") if phase.strip()]
	return args


def main(argv=None) -> int:
	args = parse_args(argv)
	if args.task:
		run_task_here(args)
		return 0

	def stop_on_signal(signum, frame):
		raise SystemExit(f"benchmark: stopped by signal {signum}")

	signal.signal(signal.SIGTERM, stop_on_signal)
	signal.signal(signal.SIGHUP, stop_on_signal)
	try:
		benchmark = Benchmark(args)
		data = benchmark.run()
	except BenchmarkError as error:
		print(f"benchmark: {error}", file=sys.stderr)
		return 1
	print()
	print(data["table"])
	print()
	print(f"Code: {data['code']}")
	print(f"Machine: {data['machine']}")
	print(f"Wall time: {data['wall_time_s'] / 60:.1f} min")
	for note in data["notes"]:
		print(f"Note: {note}")
	if args.json:
		Path(args.json).write_text(json.dumps(data, indent=1, default=str))
	return 0


if __name__ == "__main__":
	sys.exit(main())
