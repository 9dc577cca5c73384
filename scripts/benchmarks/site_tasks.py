# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Work done inside a site. The driver runs each task in a process of its own
(``benchmark.py --task NAME --site SITE``, see Bench.task) with frappe connected to that site, so
that what is timed is a site's own work, as a request or job would do it, and not the driver's.

A module defines a task with ``@site_task("name")``; the driver calls ``bench.task(site, "name",
**params)`` and gets back the task's JSON-able result. Here are the tasks several measurements use."""

import json
import time
from pathlib import Path

TASKS = {}


def site_task(name: str):
	def register(function):
		TASKS[name] = function
		return function

	return register


def run_task_here(args) -> None:
	"""The --task side of benchmark.py: connect to the site, run the task, write its result."""
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
	"""Load meta, hooks and capture with one insert that is rolled back (nothing is kept), so that
	no timed part pays for loading code and metadata."""
	import frappe

	doc = frappe.get_doc(make_doc(doctype, f"{tag}-warmup", 0))
	doc.insert()
	frappe.db.rollback()
	return doc.name


@site_task("write")
def write(doctype: str, tag: str, count: int) -> dict:
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
