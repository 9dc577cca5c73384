# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""5. Initial sync: N ToDos that exist on the producer without any log (written as before the
subscription), copied by one initial sync run on the consumer (chunks of 200 over HTTP, each applied
under the pull lock), against the consumer inserting the same documents itself (one commit per 200,
as the sync commits per chunk). Worker stopped, so nothing else pulls meanwhile. The issue's bar is
an apply rate of at least 0.75 of the local insert rate."""

import time

from benchmarks.common import CONSUMER, PRODUCER
from benchmarks.site_tasks import make_doc, site_task, warm_up

PHASE = "initialsync"
DOCTYPE = "ToDo"
CHUNK = 200
# benchmark documents are named after every hash-named document (10 characters of [0-9a-z])
LAST_NAMES = "zzzzzzzzzz-"

# --- inside a site -----------------------------------------------------------------------------


@site_task("write_without_logs")
def write_without_logs(doctype: str, tag: str, count: int) -> dict:
	"""Documents as they stood before any subscription: no Event Update Log is written for them."""
	import frappe

	frappe.flags.in_patch = True  # capture skips changes made by patches
	names = []
	for index in range(count):
		doc = frappe.get_doc(make_doc(doctype, tag, index))
		# named after every other document of the producer (see initial_sync)
		doc.insert(set_name=f"{LAST_NAMES}{tag}-{index:05d}")
		names.append(doc.name)
		if (index + 1) % 500 == 0:
			frappe.db.commit()
	frappe.db.commit()
	frappe.flags.in_patch = False
	return {"names": names}


@site_task("initial_sync")
def initial_sync(producer_url: str, doctype: str, tag: str, chunk: int, after: str) -> dict:
	"""One run over the documents named after ``after``: the producer also holds documents earlier
	runs and tests left, which are not this measurement's to copy (nor to leave on the consumer)."""
	import frappe

	from event_streaming.streaming import snapshot

	warm_up(doctype, tag)
	# the benchmark approves on the producer without mirroring (subscription.approve): say it here too
	frappe.db.set_value(
		"Event Producer Document Type", {"parent": producer_url}, "status", "Approved", update_modified=False
	)
	frappe.db.commit()
	(run_name,) = snapshot.start(producer_url, doctype, enqueue=False)
	# as a run resumed from there: keyset paging starts after ``after``
	frappe.db.set_value(snapshot.RUN_DOCTYPE, run_name, "last_name", after, update_modified=False)
	frappe.db.commit()
	start = time.perf_counter()
	status = snapshot.run(run_name, chunk_size=chunk)
	seconds = time.perf_counter() - start
	run = frappe.db.get_value(
		snapshot.RUN_DOCTYPE, run_name, ["processed", "applied", "skipped", "failed"], as_dict=True
	)
	frappe.db.delete(snapshot.RUN_DOCTYPE, {"name": run_name})
	frappe.db.commit()
	return {"seconds": seconds, "status": status, **run}


# --- the driver's side -------------------------------------------------------------------------


def measure(bench, size: int) -> dict:
	out = {"sync": [], "rate": [], "local_rate": [], "ratio": []}
	bench.subscription.ensure_subscribed()
	bench.services.stop_worker()
	for run in range(bench.runs):
		tag = bench.tag(size, f"s{run}")
		written = bench.task(PRODUCER, "write_without_logs", doctype=DOCTYPE, tag=tag, count=size)
		local = bench.task(CONSUMER, "local_insert", doctype=DOCTYPE, tag=f"{tag}L", count=size, page=CHUNK)
		bench.services.wait_quiet()
		synced = bench.task(
			CONSUMER,
			"initial_sync",
			producer_url=bench.producer_url,
			doctype=DOCTYPE,
			tag=f"{tag}S",
			chunk=CHUNK,
			after=f"{LAST_NAMES}{tag}",
		)
		if synced["status"] != "Completed" or synced["failed"] or synced["applied"] < size:
			bench.notes.append(
				f"initial sync N={size} run {run + 1}: {synced['status']}, applied {synced['applied']} "
				f"of {size}, {synced['failed']} failed"
			)
		bench.cleanup.delete_replicated_docs(DOCTYPE, written["names"])
		bench.cleanup.delete_docs(CONSUMER, DOCTYPE, local["names"])
		rate = max(synced["applied"], 1) / synced["seconds"]
		local_rate = size / local["seconds"]
		out["sync"].append(synced["seconds"])
		out["rate"].append(rate)
		out["local_rate"].append(local_rate)
		out["ratio"].append(rate / local_rate)
		bench.say(
			f"N={size} initial sync, run {run + 1}/{bench.runs}: {synced['seconds']:.2f} s "
			f"({rate:.0f} docs/s), local insert {local_rate:.0f} docs/s"
		)
	return out


def report(table) -> None:
	if not table.has(PHASE):
		return
	table.section("5. Initial sync: N ToDos without logs on the producer, one run on the consumer")
	table.add("ToDo: initial sync", table.by_size(PHASE, "sync"), " s")
	table.add("ToDo: apply rate", table.by_size(PHASE, "rate"), " docs/s")
	table.add(
		f"ToDo: consumer's local insert rate (commit per {CHUNK})",
		table.by_size(PHASE, "local_rate"),
		" docs/s",
	)
	table.add("ToDo: apply rate / local insert rate", table.by_size(PHASE, "ratio"))
