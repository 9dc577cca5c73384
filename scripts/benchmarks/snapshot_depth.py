# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""6. Initial sync at depth (only with --depth): can the producer serve a large DocType to an initial
sync without any request growing towards a timeout? The producer gets --depth-n (100,000) ToDos
without logs, written straight into the table (as a site that existed long before subscribing), and
the consumer walks every chunk of them over HTTP as an initial sync does (keyset pages of 200 by
name), timing each request, without applying them (the apply rate is measurement 5). If chunks
were served by OFFSET or by loading the table, the last chunks would take far longer than the first;
served from the primary key they take the same."""

import time

from benchmarks.common import CONSUMER, PRODUCER
from benchmarks.site_tasks import site_task

PHASE = "snapshotdepth"
DOCTYPE = "ToDo"
CHUNK = 200
INSERT_BATCH = 5000


@site_task("bulk_write_without_logs")
def bulk_write_without_logs(tag: str, count: int) -> dict:
	"""``count`` ToDos in a few multi-row INSERTs: no document lifecycle, so no log either."""
	import frappe
	from frappe.utils import now_datetime

	now = now_datetime()
	fields = ["name", "description", "status", "priority", "owner", "modified_by", "creation", "modified"]
	start = time.perf_counter()
	for first in range(0, count, INSERT_BATCH):
		rows = [
			(
				f"{tag}-{index:06d}",
				f"{tag}-{index:06d} old task",
				"Open",
				"Medium",
				*(["Administrator"] * 2),
				now,
				now,
			)
			for index in range(first, min(first + INSERT_BATCH, count))
		]
		frappe.db.bulk_insert(DOCTYPE, fields, rows)
		frappe.db.commit()
	return {"seconds": time.perf_counter() - start, "count": count}


@site_task("walk_chunks")
def walk_chunks(producer_url: str, doctype: str, chunk: int) -> dict:
	"""Every chunk of ``doctype`` from the producer, as an initial sync fetches them; seconds each."""
	import frappe
	from frappe.utils import get_url

	from event_streaming.streaming import snapshot, transport

	peer = transport.producer_peer(frappe.get_doc("Event Producer", producer_url))
	start = time.perf_counter()
	counts = peer.call(snapshot.COUNT_METHOD, event_consumer=get_url())
	count_seconds = time.perf_counter() - start
	after, request_seconds, documents = "", [], 0
	while True:
		start = time.perf_counter()
		reply = snapshot.check_chunk(
			peer.call(
				snapshot.CHUNK_METHOD, event_consumer=get_url(), doctype=doctype, after=after, limit=chunk
			)
		)
		request_seconds.append(time.perf_counter() - start)
		documents += len(reply["documents"])
		after = reply["last_name"]
		if not reply["has_more"]:
			break
	return {
		"count_seconds": count_seconds,
		"counted": counts.get(doctype),
		"requests": request_seconds,
		"documents": documents,
	}


def measure(bench, size: int) -> dict:
	out = {"write": [], "count": [], "first": [], "median": [], "last": [], "slowest": [], "total": []}
	depth = bench.args.depth_n
	bench.subscription.ensure_subscribed()
	bench.services.stop_worker()
	for run in range(bench.runs):
		tag = bench.tag(depth, f"d{run}")
		written = bench.task(PRODUCER, "bulk_write_without_logs", tag=tag, count=depth)
		walked = bench.task(
			CONSUMER, "walk_chunks", producer_url=bench.producer_url, doctype=DOCTYPE, chunk=CHUNK
		)
		bench.cleanup.sweep()
		requests = walked["requests"]
		if walked["documents"] < depth:
			bench.notes.append(f"depth {depth} run {run + 1}: walked {walked['documents']} documents")
		ordered = sorted(requests)
		out["write"].append(written["seconds"])
		out["count"].append(walked["count_seconds"])
		# the first and last tenth of the walk: equal if chunks come from the index
		tenth = max(len(requests) // 10, 1)
		out["first"].append(sum(requests[:tenth]) / tenth)
		out["last"].append(sum(requests[-tenth:]) / tenth)
		out["median"].append(ordered[len(ordered) // 2])
		out["slowest"].append(ordered[-1])
		out["total"].append(sum(requests))
		bench.say(
			f"depth {depth}, run {run + 1}/{bench.runs}: {len(requests)} chunk requests, "
			f"median {ordered[len(ordered) // 2] * 1000:.0f} ms, slowest {ordered[-1] * 1000:.0f} ms"
		)
	return out


def report(table) -> None:
	if not table.has(PHASE):
		return
	depth = table.args.depth_n
	table.section(
		f"6. Initial sync at depth: {depth:,} ToDos on the producer, every chunk of {CHUNK} fetched over HTTP"
	)
	table.add("count of documents (confirmation dialog)", table.by_size(PHASE, "count"), " ms", scale=1000)
	table.add(
		"chunk request, first tenth of the walk (mean)", table.by_size(PHASE, "first"), " ms", scale=1000
	)
	table.add("chunk request, last tenth of the walk (mean)", table.by_size(PHASE, "last"), " ms", scale=1000)
	table.add("chunk request, median", table.by_size(PHASE, "median"), " ms", scale=1000)
	table.add("chunk request, slowest", table.by_size(PHASE, "slowest"), " ms", scale=1000)
	table.add("all chunks, fetched one after another", table.by_size(PHASE, "total"), " s")
