# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""3. End to end, worker running: first write until the consumer holds all N; then single changes
written one at a time (--changes, --gap), latency from the producer's commit until the row is on
the consumer. What both cost per document is reported in section 4."""

import time

from benchmarks.common import CONSUMER, PRODUCER
from benchmarks.site_tasks import make_doc, site_task, warm_up
from benchmarks.table import percentile

PHASE = "stream"
ARRIVAL_TIMEOUT = 60  # s a single change may take before it counts as lost

# --- inside a site -----------------------------------------------------------------------------


@site_task("single_changes")
def single_changes(tag: str, count: int, gap: float, timeout: float, consumer_database: dict) -> dict:
	"""Write ToDos one at a time; each time, wait until the consumer holds it."""
	import frappe

	from benchmarks.database import connect

	# the consumer's table is polled over a connection of our own, not through frappe, which is
	# connected to the producer
	connection = connect(consumer_database)
	exists = f"SELECT 1 FROM {connection.table('ToDo')} WHERE name = %s"
	warm_up("ToDo", tag)
	names, latencies = [], []
	for index in range(count):
		doc = frappe.get_doc(make_doc("ToDo", tag, index))
		doc.insert()
		frappe.db.commit()
		committed = time.perf_counter()
		names.append(doc.name)
		latency = None
		while time.perf_counter() - committed < timeout:
			if connection.sql(exists, (doc.name,)):
				latency = time.perf_counter() - committed
				break
			time.sleep(0.005)
		latencies.append(latency)
		time.sleep(gap)
	connection.close()
	return {"names": names, "latencies": latencies}


# --- the driver's side -------------------------------------------------------------------------


def measure(bench, size: int) -> dict:
	"""A burst of N writes, then single changes, in each run."""
	out = {key: [] for key in ("e2e", "tail", "write", "costs", "p50", "p95", "max", "single_costs")}
	bench.subscription.ensure_subscribed()
	bench.services.start_worker()
	bench.services.wait_quiet()
	for run in range(bench.runs):
		burst(bench, size, run, out)
		singles(bench, size, run, out)
	return out


def burst(bench, size: int, run: int, out: dict) -> None:
	"""N writes in a row while the worker streams them; the clock stops when the consumer has all."""
	tag = bench.tag(size, f"s{run}")
	before = bench.meter.mark()
	process = bench.task(PRODUCER, "write", wait=False, doctype="ToDo", tag=tag, count=size)
	deadline = time.monotonic() + max(300, size * 0.5)
	done_at = None
	while time.monotonic() < deadline:
		if bench.count(CONSUMER, "ToDo", "WHERE description LIKE %s", (f"{tag}-%",)) >= size:
			done_at = time.time()
			break
		if process.poll() not in (None, 0):
			break
		time.sleep(0.1)
	written = bench.task_result(process)
	bench.services.wait_quiet()
	cost = bench.meter.costs(before, bench.meter.mark(), size)
	bench.cleanup.delete_replicated_docs("ToDo", written["names"])
	if done_at is None:
		bench.notes.append(f"end to end N={size} run {run + 1}: the consumer did not receive all documents")
	else:
		out["e2e"].append(done_at - written["first_write"])
		out["tail"].append(done_at - written["last_commit"])
	out["write"].append(written["seconds"])
	out["costs"].append(cost)
	bench.say(
		f"N={size} end to end, run {run + 1}/{bench.runs}: "
		+ (f"{done_at - written['first_write']:.2f} s" if done_at else "incomplete")
		+ f" (writes took {written['seconds']:.2f} s)"
	)


def singles(bench, size: int, run: int, out: dict) -> None:
	"""--changes single ToDos, each written once the previous one arrived (and --gap passed)."""
	changes = bench.args.changes
	before = bench.meter.mark()
	result = bench.task(
		PRODUCER,
		"single_changes",
		tag=bench.tag(size, f"l{run}"),
		count=changes,
		gap=bench.args.gap,
		timeout=ARRIVAL_TIMEOUT,
		consumer_database=bench.database_params(CONSUMER),
	)
	bench.services.wait_quiet()
	out["single_costs"].append(bench.meter.costs(before, bench.meter.mark(), changes))
	bench.cleanup.delete_replicated_docs("ToDo", result["names"])
	latencies = [value for value in result["latencies"] if value is not None]
	if len(latencies) < changes:
		bench.notes.append(
			f"single changes run {run + 1}: {changes - len(latencies)} never arrived within {ARRIVAL_TIMEOUT} s"
		)
	if latencies:
		out["p50"].append(percentile(latencies, 0.5))
		out["p95"].append(percentile(latencies, 0.95))
		out["max"].append(max(latencies))
		bench.say(
			f"N={size} single changes, run {run + 1}/{bench.runs}: p50 {out['p50'][-1] * 1000:.0f} ms, "
			f"p95 {out['p95'][-1] * 1000:.0f} ms, max {out['max'][-1] * 1000:.0f} ms"
		)


def report(table) -> None:
	if not table.has(PHASE):
		return
	table.section("3. End to end, worker running")
	table.add("First write → consumer holds all N", table.by_size(PHASE, "e2e"), " s")
	table.add("Last write → consumer holds all N", table.by_size(PHASE, "tail"), " s")
	table.add("N writes while streaming took", table.by_size(PHASE, "write"), " s")
	for name in ("p50", "p95", "max"):
		table.add(
			f"Single change latency {name} ({table.args.changes} changes, commit → on consumer)",
			table.by_size(PHASE, name),
			" ms",
			scale=1000,
		)
