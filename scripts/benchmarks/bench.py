# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The benchmark's handle on the two-site bench: paths, site configs, the database connections (one
per site, one to the server), Redis, and the in-site tasks it runs. The helpers (services, meter, cleanup, subscription) hang off
one Bench so that a measurement needs nothing but ``bench`` to do its work."""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

from benchmarks.cleanup import Cleanup
from benchmarks.common import DB_TYPE, ENTRY_POINT, PRODUCER, SERVICES_LIB, SITES, BenchmarkError
from benchmarks.database import LABELS, Connection
from benchmarks.meter import Meter
from benchmarks.services import Services
from benchmarks.subscription import Subscription, closed_ports


class Bench:
	def __init__(self, args):
		self.args = args
		self.runs = args.runs
		self.path = Path(args.bench).resolve()
		self.sites_path = self.path / "sites"
		self.python = str(self.path / "env" / "bin" / "python")
		self.logs = self.path / "logs" / "event_streaming_benchmark"
		self.logs.mkdir(parents=True, exist_ok=True)
		self.access_log = self.logs / "access.log"
		# every document the run writes carries this prefix, so that cleanup finds them all
		self.prefix = f"esb{uuid.uuid4().hex[:8]}"
		self.sites = {site: self.site_config(site) for site in SITES}
		common = json.loads((self.sites_path / "common_site_config.json").read_text())
		self.redis_cache_url = common.get("redis_cache")
		self.redis_queue_url = common.get("redis_queue")
		self.db_type = DB_TYPE
		self.db_label = LABELS[DB_TYPE]
		postgres = DB_TYPE == "postgres"
		# the server's administrator: to read every site's tables and the server's counters
		self.root = {
			"db_type": DB_TYPE,
			"host": self.sites[PRODUCER].get("db_host") or "127.0.0.1",
			"port": int(self.sites[PRODUCER].get("db_port") or (5432 if postgres else 3306)),
			"user": "postgres" if postgres else "root",
			"password": args.pg_root_password if postgres else args.db_root_password,
		}
		# what scripts/lib/bench_services.sh reads to find the bench, its port and where to log
		self.env = dict(
			os.environ,
			EVENT_STREAMING_BENCH=str(self.path),
			EVENT_STREAMING_PORT=str(args.port),
			EVENT_STREAMING_DB_ROOT_PASSWORD=args.db_root_password,
			EVENT_STREAMING_LOGS=str(self.logs),
			EVENT_STREAMING_PG_ROOT_PASSWORD=args.pg_root_password,
			EVENT_STREAMING_PRODUCER=PRODUCER,
		)
		self.producer_url = self.sites[PRODUCER].get("host_name") or f"http://{PRODUCER}:{args.port}"
		self.consumer_url = None
		self.fake_urls = [f"http://127.0.0.1:{port}" for port in closed_ports(2)]
		self.site_start: dict[str, str] = {}
		self.frappe_version = None
		self.server: Connection | None = None
		self.databases: dict[str, Connection] = {}
		self.redis_cache = None
		self.redis_queue = None
		self.notes: list[str] = []
		self.services = Services(self)
		self.meter = Meter(self)
		self.cleanup = Cleanup(self)
		self.subscription = Subscription(self)

	def site_config(self, site: str) -> dict:
		path = self.sites_path / site / "site_config.json"
		if not path.exists():
			raise BenchmarkError(
				f"{site} does not exist; run scripts/two_site_tests.sh once to create both sites"
			)
		return json.loads(path.read_text())

	def connect(self) -> None:
		"""Make sure the database server and Redis run, then connect to the server and to each site's
		database as the server's administrator."""
		import redis

		self.say(f"checking {self.db_label} and Redis")
		services = ["ensure-redis", "ensure-postgres"] if self.db_type == "postgres" else ["ensure-backing"]
		for service in services:
			if self.lib(service).returncode:
				raise BenchmarkError(f"{self.db_label} or Redis could not be started")
		self.server = Connection(**self.root)
		self.databases = {
			site: Connection(**self.root, database=config["db_name"]) for site, config in self.sites.items()
		}
		self.redis_cache = redis.Redis.from_url(self.redis_cache_url)
		self.redis_queue = redis.Redis.from_url(self.redis_queue_url)

	def say(self, message: str) -> None:
		print(f"== {message}", flush=True)

	def lib(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
		return subprocess.run(["bash", str(SERVICES_LIB), *command], env=self.env, **kwargs)

	def tag(self, size: int, what: str) -> str:
		"""A prefix for one measurement's documents: unique to this run, size and step."""
		return f"{self.prefix}-{size}-{what}"

	# --- tasks: work done inside a site, in a process of its own with frappe connected -----

	def task(self, site: str, name: str, wait: bool = True, **params):
		"""Run one task (see benchmarks.site_tasks) on ``site``; returns its result, or with
		``wait=False`` the running process for ``task_result``."""
		result = self.logs / f"task-{uuid.uuid4().hex}.json"
		log = open(self.logs / "tasks.log", "ab")
		log.write(f"--- {time.strftime('%H:%M:%S')} {site} {name}\n".encode())
		log.flush()
		process = subprocess.Popen(
			[self.python, str(ENTRY_POINT), "--task", name, "--site", site, "--bench", str(self.path),
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

	# --- SQL as the server's administrator, in one site's database -----------------------

	def sql(self, site: str, query: str, values=None) -> list:
		return self.databases[site].sql(query, values)

	def table(self, site: str, doctype: str) -> str:
		return self.databases[site].table(doctype)

	def quote(self, site: str, name: str) -> str:
		return self.databases[site].quote(name)

	def count(self, site: str, doctype: str, where: str = "", values=None) -> int:
		return self.sql(site, f"SELECT COUNT(*) FROM {self.table(site, doctype)} {where}", values)[0][0]

	def database_params(self, site: str) -> dict:
		"""What a site task needs to open its own connection to ``site``'s database."""
		return self.databases[site].params
