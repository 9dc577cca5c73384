# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Checks before anything is written: the bench runs this checkout, both sites resolve and have the
app, and neither streams ToDo or Note already (the benchmark would measure on top of that)."""

import socket

from benchmarks.common import CONSUMER, REPO, SITES, SUBSCRIBED, BenchmarkError
from benchmarks.site_tasks import site_task


@site_task("inspect")
def inspect() -> dict:
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


def preflight(bench) -> None:
	"""Raise BenchmarkError on the first reason not to measure; note each site's clock and the
	consumer's URL on ``bench`` (cleanup removes Versions written since that clock)."""
	linked = (bench.path / "apps" / "event_streaming").resolve()
	if linked != REPO:
		raise BenchmarkError(
			f"the bench runs {linked}, not this checkout; run scripts/two_site_tests.sh once"
		)
	for site in SITES:
		try:
			socket.gethostbyname(site)
		except OSError:
			raise BenchmarkError(f"{site} does not resolve; add '127.0.0.1 {site}' to /etc/hosts")
	for site in SITES:
		info = bench.task(site, "inspect")
		if "event_streaming" not in info["apps"]:
			raise BenchmarkError(
				f"event_streaming is not installed on {site}; run scripts/two_site_tests.sh once"
			)
		if info["streams"]:
			raise BenchmarkError(f"{site} already streams {info['streams']}; remove that subscription first")
		if site == CONSUMER:
			bench.consumer_url = info["url"]
			if bench.producer_url in info["producers"] or bench.producer_url in info["positions"]:
				raise BenchmarkError(f"{site} is already subscribed to {bench.producer_url}; remove it first")
		bench.frappe_version = info["frappe_version"]
		bench.site_start[site] = info["now"]
