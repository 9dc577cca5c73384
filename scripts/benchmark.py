#!/usr/bin/env python3
# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Replication benchmark on the two-site bench: every speed figure the issues quote comes from here.

	flock /tmp/es-bench.lock /opt/frappe-bench/env/bin/python scripts/benchmark.py \\
		--bench /opt/frappe-bench [--db-type mariadb|postgres] [--n 500] [--runs 3] [--scale] [--json out.json]

Run it with the bench's Python. It uses the existing bench only (sites es-producer.localhost and
es-consumer.localhost, made by scripts/two_site_tests.sh; with --db-type postgres the PostgreSQL pair
es-producer-pg.localhost and es-consumer-pg.localhost, made by two_site_tests.sh --db-type postgres)
and starts the web server and, where a
measurement needs one, a worker through scripts/lib/bench_services.sh, the same way the test runner
does; it stops them before it exits. Each figure is the median of --runs runs, with min and max;
--scale repeats everything at --scale-n (5000) to show how the costs grow. One module of
scripts/benchmarks/ a measurement, each explaining its method:

1. producer_writes: producer write overhead with 0, 1 and 3 approved consumers.
2. catch_up: one pull_now of N waiting documents against the consumer inserting them itself.
3. end_to_end: a burst of N writes until the consumer holds them all; single-change latency.
4. costs_per_document: HTTP requests, bytes, SQL statements and log rows per replicated document.
5. initial_sync: copying N existing documents against the consumer inserting them itself.
6. snapshot_depth (--depth): the chunk requests of an initial sync over 100,000 documents.

It is a benchmark, not a test: nothing is asserted. Both sites are left as found: the documents,
logs and subscription it made are removed (all tagged with a unique prefix), the keys it had to
create are removed, and a final check compares table row counts with those at the start.

This file parses the options, runs the measurements in order for each N, cleans up and prints the
table; the measurements and the helpers they share are in scripts/benchmarks/.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from benchmarks import (
	catch_up,
	costs_per_document,
	end_to_end,
	initial_sync,
	producer_writes,
	snapshot_depth,
)
from benchmarks.bench import Bench
from benchmarks.common import ALL_QUEUES, DB_TYPE, BenchmarkError
from benchmarks.database import SITE_PAIRS
from benchmarks.preflight import preflight
from benchmarks.provenance import code_version, machine
from benchmarks.site_tasks import run_task_here
from benchmarks.table import Report

# Each module has PHASE (its --phases name, or None for a section of the report that only reads
# the others' results), measure(bench, size) -> dict (stored as results[size][PHASE]) and
# report(table) (adds its rows). They run, and report, in this order; to add one, write a module
# like these and list it here (see docs/benchmark.md).
MEASUREMENTS = (producer_writes, catch_up, end_to_end, costs_per_document, initial_sync, snapshot_depth)
PHASES = [module.PHASE for module in MEASUREMENTS if module.PHASE]
# minutes of extra work: run only when asked for (--depth)
OPTIONAL_PHASES = [snapshot_depth.PHASE]


def run(bench: Bench) -> dict:
	started = time.monotonic()
	code, digest = code_version()
	bench.connect()
	bench.cleanup.remember_redis_marks()
	preflight(bench)
	sizes = [bench.args.n] + ([bench.args.scale_n] if bench.args.scale else [])
	results = {}
	try:
		bench.services.start_web_server()
		if bench.services.queued_jobs(ALL_QUEUES):
			# jobs an earlier run left behind would otherwise run in the middle of a measurement
			bench.say("letting a worker finish the jobs earlier runs left queued")
			bench.services.drain()
		state_before = bench.cleanup.state()
		bench.meter.enable_userstat()
		for size in sizes:
			bench.say(f"measuring N={size} ({bench.runs} runs)")
			results[size] = measure_size(bench, size)
	finally:
		teardown(bench)
	state_after = bench.cleanup.state()
	changed = {
		key: (value, state_after.get(key))
		for key, value in state_before.items()
		if value != state_after.get(key)
	}
	if changed:
		bench.notes.append(f"site state differs from the start: {changed}")
	code_after, digest_after = code_version()
	if digest_after != digest:
		bench.notes.append(
			f"the app's code changed during the run ({code} → {code_after}); figures may mix both"
		)
	return report(bench, results, code, wall_time=time.monotonic() - started)


def measure_size(bench: Bench, size: int) -> dict:
	result = {}
	for module in MEASUREMENTS:
		if module.PHASE in bench.args.phases:
			result[module.PHASE] = module.measure(bench, size)
	# unsubscribe, then remove everything tagged (update logs only now: no cursor points at them)
	if bench.subscription.active:
		bench.subscription.unsubscribe()
	bench.cleanup.sweep()
	bench.services.drain()
	return result


def teardown(bench: Bench) -> None:
	"""Undo all the run did, each step on its own: one failing must not leave the others undone."""
	steps = [
		("subscription", lambda: bench.subscription.active and bench.subscription.unsubscribe()),
		("tagged documents and logs", bench.cleanup.sweep),
		("queued jobs", bench.services.drain),
		("redis entries", bench.cleanup.clean_redis),
		("api keys", bench.subscription.remove_api_keys),
		("web server", bench.services.stop_web_server),
		("worker", bench.services.stop_worker),
		("userstat", bench.meter.restore_userstat),
	]
	for what, step in steps:
		try:
			step()
		except Exception as error:
			print(f"benchmark: could not clean up {what}: {error}", file=sys.stderr)


def report(bench: Bench, results: dict, code: str, wall_time: float) -> dict:
	table = Report(results, bench.args)
	for module in MEASUREMENTS:
		module.report(table)
	return {
		"command": " ".join(sys.argv),
		"date": time.strftime("%Y-%m-%d %H:%M"),
		"machine": machine(bench),
		"code": code,
		"runs": bench.runs,
		"sizes": table.sizes,
		"wall_time_s": wall_time,
		"notes": bench.notes,
		"results": table.data,
		"table": table.render(),
	}


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
	phases = ",".join(PHASES)
	default_phases = ",".join(phase for phase in PHASES if phase not in OPTIONAL_PHASES)
	parser.add_argument("--phases", default=default_phases, help=f"subset of {phases}")
	parser.add_argument("--depth", action="store_true", help="also measure an initial sync at --depth-n")
	parser.add_argument("--depth-n", type=int, default=100_000)
	parser.add_argument("--json", help="also write the results to this JSON file")
	parser.add_argument("--port", type=int, default=int(os.environ.get("EVENT_STREAMING_PORT", 8000)))
	parser.add_argument(
		"--db-type",
		choices=list(SITE_PAIRS),
		default=DB_TYPE,
		help="measure the MariaDB sites (default) or the PostgreSQL ones (es-*-pg.localhost)",
	)
	parser.add_argument(
		"--db-root-password",
		default=os.environ.get("EVENT_STREAMING_DB_ROOT_PASSWORD", "root"),
		help="MariaDB's root password",
	)
	parser.add_argument(
		"--pg-root-password",
		default=os.environ.get("EVENT_STREAMING_PG_ROOT_PASSWORD", "root"),
		help="PostgreSQL's postgres password",
	)
	# internal: run one task inside a site (see benchmarks/site_tasks.py)
	parser.add_argument("--task", help=argparse.SUPPRESS)
	parser.add_argument("--site", help=argparse.SUPPRESS)
	parser.add_argument("--params", help=argparse.SUPPRESS)
	parser.add_argument("--result", help=argparse.SUPPRESS)
	args = parser.parse_args(argv)
	args.phases = [phase.strip() for phase in args.phases.split(",") if phase.strip()]
	if args.depth and snapshot_depth.PHASE not in args.phases:
		args.phases.append(snapshot_depth.PHASE)
	return args


def main(argv=None) -> int:
	args = parse_args(argv)
	if args.db_type != DB_TYPE:
		# every module named its sites when it was imported: start again with the choice in the
		# environment, which the in-site tasks inherit too
		os.environ["EVENT_STREAMING_DB_TYPE"] = args.db_type
		os.execv(sys.executable, [sys.executable, *sys.argv])
	if args.task:
		run_task_here(args)
		return 0

	def stop_on_signal(signum, frame):
		raise SystemExit(f"benchmark: stopped by signal {signum}")

	signal.signal(signal.SIGTERM, stop_on_signal)
	signal.signal(signal.SIGHUP, stop_on_signal)
	try:
		data = run(Bench(args))
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
