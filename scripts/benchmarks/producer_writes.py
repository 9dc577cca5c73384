# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""1. Producer write overhead: N inserts on the producer, one commit each (as N requests would),
with no approved consumer, one, and three (two registered directly on the producer with callback
URLs on closed local ports); ToDo, and Note with two seen_by rows.

The three conditions alternate within each run, in a rotating order, so that the drift of a shared
machine (disk flushes, caches) falls on all of them alike; the ratio is each run's time over the
no-consumer time of the same run. Between conditions only the approval of the registered consumers
changes: with none approved nothing is captured or notified, exactly as with no consumer at all. A
worker serves the short queue meanwhile, so the notification job runs as in production."""

from benchmarks.common import PRODUCER
from benchmarks.table import summary

PHASE = "writes"
WRITE_DOCTYPES = ("ToDo", "Note")
CONDITIONS = (0, 1, 3)  # approved consumers
CONDITION_LABEL = {0: "no consumer", 1: "1 approved consumer", 3: "3 consumers (2 unreachable)"}
DOCTYPE_LABEL = {"ToDo": "ToDo", "Note": "Note with 2 seen_by rows"}


def measure(bench, size: int) -> dict:
	out = {"seconds": {}, "costs": {}}
	bench.services.start_worker("short")
	bench.subscription.ensure_subscribed()
	bench.subscription.add_unreachable_consumers()
	# ordered so that the first k of them are the ones approved with k consumers
	everyone = [bench.consumer_url, *bench.fake_urls]
	for run in range(bench.runs):
		for turn in range(len(CONDITIONS)):
			consumers = CONDITIONS[(run + turn) % len(CONDITIONS)]
			if everyone[consumers:]:
				bench.subscription.approve(everyone[consumers:], status="Pending")
			if everyone[:consumers]:
				bench.subscription.approve(everyone[:consumers])
			for doctype in WRITE_DOCTYPES:
				result, cost = write_once(bench, size, doctype, tag=bench.tag(size, f"w{consumers}{run}"))
				key = f"{doctype} {consumers}"
				out["seconds"].setdefault(key, []).append(result["seconds"])
				out["costs"].setdefault(key, []).append(cost)
				bench.say(
					f"N={size} write {doctype}, {consumers} consumer(s), run {run + 1}/{bench.runs}: "
					f"{result['seconds']:.2f} s, {cost.get('sql_producer', 0):.1f} SQL/doc"
				)
	bench.services.stop_worker()
	# leave the subscription as the other measurements expect it: the one real consumer, approved
	bench.subscription.approve([bench.consumer_url])
	bench.subscription.drop_unreachable_consumers()
	return out


def write_once(bench, size: int, doctype: str, tag: str) -> tuple[dict, dict]:
	"""N timed inserts, with what they cost including the notification jobs they queued."""
	bench.services.wait_quiet()
	before = bench.meter.mark()
	result = bench.task(PRODUCER, "write", doctype=doctype, tag=tag, count=size)
	bench.services.wait_quiet()
	cost = bench.meter.costs(before, bench.meter.mark(), size)
	# nothing has read these logs (no consumer pulls during this step), so they can go now
	bench.cleanup.delete_update_logs(doctype, result["names"])
	bench.cleanup.delete_docs(PRODUCER, doctype, result["names"])
	return result, cost


def report(table) -> None:
	if not table.has(PHASE):
		return
	table.section("1. Producer write overhead: N inserts, one commit each (ratio to no consumer)")
	for doctype in WRITE_DOCTYPES:
		label = DOCTYPE_LABEL[doctype]
		for consumers in CONDITIONS:
			table.add(
				f"{label}, {CONDITION_LABEL[consumers]}",
				table.by_size(PHASE, "seconds", f"{doctype} {consumers}"),
				" s",
				extra=ratios(table, doctype, consumers, label),
			)
	for consumers in CONDITIONS:
		table.add(
			f"Producer SQL per ToDo write, {consumers} consumer(s) (incl. background notify)",
			{
				size: table.cost_values(size, (PHASE, "costs", f"ToDo {consumers}"), "sql_producer")
				for size in table.sizes
			},
		)


def ratios(table, doctype: str, consumers: int, label: str) -> dict:
	"""The ' xRATIO [MIN-MAX]' after each cell: each run's time over the no-consumer time of the same run."""
	cells = {}
	if not consumers:
		return cells
	for size in table.sizes:
		base = table.pick(size, PHASE, "seconds", f"{doctype} 0")
		this = table.pick(size, PHASE, "seconds", f"{doctype} {consumers}")
		if base and this:
			per_run = summary([mine / theirs for mine, theirs in zip(this, base, strict=True)])
			cells[size] = f" ×{per_run['median']:.2f} [{per_run['min']:.2f}–{per_run['max']:.2f}]"
			table.record(f"{label}, ratio with {consumers}", size, per_run)
	return cells
