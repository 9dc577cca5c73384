# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The bench's web server and background worker, started and stopped through
scripts/lib/bench_services.sh (the same functions scripts/two_site_tests.sh uses), and the waits that
keep one measurement's stray work out of the next."""

import subprocess
import time

from benchmarks.common import ALL_QUEUES, SERVICES_LIB, BenchmarkError
from benchmarks.meter import ACCESS_LOG_FORMAT


class Services:
	def __init__(self, bench):
		self.bench = bench
		self.web = None
		self.worker = None
		self.worker_key = None
		self.worker_queues: list[str] = []

	def start_web_server(self) -> None:
		bench = self.bench
		if bench.lib("web-server-up").returncode == 0:
			raise BenchmarkError(
				f"port {bench.args.port} is already in use; stop that server (it may serve another version of the app)"
			)
		bench.say(f"starting web server on port {bench.args.port}")
		bench.access_log.write_bytes(b"")
		self.web = self.spawn(
			"web.log",
			"run-web-server", "--access-logfile", str(bench.access_log), "--access-logformat", ACCESS_LOG_FORMAT,
		)  # fmt: skip
		self.wait_started(
			self.web, lambda: bench.lib("web-server-up").returncode == 0, "web server", "web.log", interval=1
		)

	def stop_web_server(self) -> None:
		self.stop(self.web, "web server")

	def start_worker(self, queues: str = "short,default,long") -> None:
		self.bench.say(f"starting background worker ({queues})")
		self.worker = self.spawn("worker.log", "run-worker", queues)
		self.worker_queues = queues.split(",")
		self.wait_started(self.worker, self.find_worker_key, "worker", "worker.log", interval=0.2)

	def find_worker_key(self) -> bool:
		"""The worker's key in Redis, which tells later whether it is busy (see queued_jobs)."""
		redis_queue = self.bench.redis_queue
		for key in redis_queue.keys("rq:worker:*"):
			if redis_queue.hget(key, "pid") == str(self.worker.pid).encode():
				self.worker_key = key
				return True
		return False

	def spawn(self, log_name: str, *arguments: str) -> subprocess.Popen:
		"""A bench_services.sh function in the background, its output appended to logs/``log_name``."""
		with open(self.bench.logs / log_name, "ab") as log:
			return subprocess.Popen(
				["bash", str(SERVICES_LIB), *arguments],
				env=self.bench.env,
				stdout=log,
				stderr=subprocess.STDOUT,
			)

	def wait_started(
		self, process, ready, what: str, log_name: str, interval: float, timeout: float = 60
	) -> None:
		"""Wait until ``ready()``; stop waiting early if the process died."""
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if ready():
				return
			if process.poll() is not None:
				break
			time.sleep(interval)
		raise BenchmarkError(f"{what} did not start (see {self.bench.logs / log_name})")

	def stop_worker(self) -> None:
		self.stop(self.worker, "background worker")
		self.worker = None
		self.worker_queues = []

	def stop(self, process, what: str) -> None:
		if process is None or process.poll() is not None:
			return
		self.bench.say(f"stopping {what}")
		process.terminate()
		try:
			process.wait(timeout=60)
		except subprocess.TimeoutExpired:
			process.kill()
			process.wait()

	def queued_jobs(self, queues: list[str]) -> int:
		"""Jobs waiting in these queues, plus one if our worker is running a job now."""
		redis_queue = self.bench.redis_queue
		total = sum(
			redis_queue.llen(key) for queue in queues for key in redis_queue.keys(f"rq:queue:*:{queue}")
		)
		if self.worker and redis_queue.hget(self.worker_key, "state") == b"busy":
			total += 1
		return total

	def wait_quiet(self, quiet: float = 1.0, timeout: float = 600) -> None:
		"""Wait until no site issues SQL, no request is logged and the worker has nothing queued."""
		bench = self.bench
		last, since = None, time.monotonic()
		deadline = since + timeout
		while time.monotonic() < deadline:
			jobs = self.queued_jobs(self.worker_queues) if self.worker else 0
			state = (bench.meter.statements(), bench.access_log.stat().st_size, jobs)
			now = time.monotonic()
			if state != last:
				last, since = state, now
			elif now - since >= quiet and jobs == 0:
				return
			time.sleep(0.2)
		bench.notes.append(
			"the bench did not go quiet within the timeout once; a figure may include stray work"
		)

	def drain(self) -> None:
		"""Let a worker run whatever our writes queued (a queued mark without its job delays the next one)."""
		if not self.queued_jobs(ALL_QUEUES) and not self.worker:
			return
		if self.worker_queues != ALL_QUEUES:
			self.stop_worker()
			self.start_worker()
		self.wait_quiet()
		self.stop_worker()
