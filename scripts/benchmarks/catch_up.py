# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""2. Catch-up: no worker; N documents written on the producer, then one timed pull_now on the
consumer, against the consumer inserting the same documents itself (one commit per 500, as apply
commits per page).

Both processes first insert one document of each kind and roll it back, so neither pays for loading
code and metadata inside the timed part, and the producer's web workers each serve the feed once
first, as those of a running site have."""

import time

from benchmarks.common import CONSUMER, PRODUCER, SUBSCRIBED
from benchmarks.site_tasks import make_doc, site_task, warm_up

PHASE = "catchup"
CATCHUP_DOCTYPES = ("ToDo", "Note")
DOCTYPE_LABEL = {"ToDo": "ToDo", "Note": "Note+2 rows"}
APPLY_PAGE = 500  # the consumer commits once a page of this many logs
WEB_WORKERS = 3  # gunicorn -w in scripts/lib/bench_services.sh

# --- inside a site -----------------------------------------------------------------------------


@site_task("local_insert")
def local_insert(doctype: str, tag: str, count: int, page: int) -> dict:
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


@site_task("pull")
def pull_and_apply(producer_url: str, tag: str) -> dict:
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


# --- the driver's side -------------------------------------------------------------------------


def measure(bench, size: int) -> dict:
	"""One pull of N waiting documents, no worker, against inserting them locally."""
	out = {}
	bench.subscription.ensure_subscribed()
	bench.services.stop_worker()  # the pull is to run once, here, not in a job beside it
	warm_producer_web_workers(bench)
	for run in range(bench.runs):
		for doctype in CATCHUP_DOCTYPES:
			tag = bench.tag(size, f"c{run}")
			rows_before = bench.meter.log_rows()
			written = bench.task(PRODUCER, "write", doctype=doctype, tag=tag, count=size)
			local = bench.task(
				CONSUMER, "local_insert", doctype=doctype, tag=f"{tag}L", count=size, page=APPLY_PAGE
			)
			bench.services.wait_quiet()
			before = bench.meter.mark()
			pulled = bench.task(CONSUMER, "pull", producer_url=bench.producer_url, tag=f"{tag}P")
			bench.services.wait_quiet()
			after = bench.meter.mark()
			cost = bench.meter.costs(before, after, size)
			# the log rows count from before the writes: the update logs are added by them, not the pull
			for table, rows in after["rows"].items():
				cost[f"rows {table}"] = (rows - rows_before[table]) / size
			if pulled["applied"] != size or pulled["failed"]:
				bench.notes.append(
					f"catch-up N={size} {doctype} run {run + 1}: applied {pulled['applied']} of {size}, "
					f"{pulled['failed']} failed"
				)
			bench.cleanup.delete_replicated_docs(doctype, written["names"])
			bench.cleanup.delete_docs(CONSUMER, doctype, local["names"])
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
			bench.say(
				f"N={size} catch-up {doctype}, run {run + 1}/{bench.runs}: pull {pulled['seconds']:.2f} s "
				f"({rate:.0f} docs/s), local insert {local_rate:.0f} docs/s"
			)
	return out


def warm_producer_web_workers(bench, rounds: int = 2) -> None:
	"""Have every web worker of the producer serve the feed and an acknowledgement before a pull is
	timed, as the workers of a site that has been running have: a worker's first call of each
	costs about 0.2 s of Frappe start-up (site, hooks, metadata), which belongs to no document."""
	from concurrent.futures import ThreadPoolExecutor

	import requests

	keys = bench.subscription.api_keys[PRODUCER]
	headers = {"Authorization": f"token {keys['api_key']}:{keys['api_secret']}"}
	base = f"{bench.producer_url}/api/method/event_streaming.api"

	def feed_and_acknowledge(_):
		with requests.Session() as session:
			for method, data in (
				("get_update_log_page", {"event_consumer": bench.consumer_url, "after": 0, "limit": 1}),
				("acknowledge_update_logs", {"event_consumer": bench.consumer_url, "cursor": 0}),
			):
				session.post(f"{base}.{method}", data=data, headers=headers, timeout=60).raise_for_status()

	# concurrent calls, so that each worker takes some instead of one worker taking them all
	with ThreadPoolExecutor(WEB_WORKERS) as pool:
		list(pool.map(feed_and_acknowledge, range(WEB_WORKERS * rounds)))


def report(table) -> None:
	if not table.has(PHASE):
		return
	table.section("2. Catch-up: worker stopped, one pull_now of N waiting documents")
	for doctype in CATCHUP_DOCTYPES:
		label = DOCTYPE_LABEL[doctype]
		table.add(f"{label}: pull and apply", table.by_size(PHASE, doctype, "pull"), " s")
		table.add(f"{label}: apply rate", table.by_size(PHASE, doctype, "rate"), " docs/s")
		table.add(
			f"{label}: consumer's local insert rate (commit per {APPLY_PAGE})",
			table.by_size(PHASE, doctype, "local_rate"),
			" docs/s",
		)
		table.add(f"{label}: apply rate / local insert rate", table.by_size(PHASE, doctype, "ratio"))
