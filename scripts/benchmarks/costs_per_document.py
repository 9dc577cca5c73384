# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""4. Costs per replicated document: HTTP requests served by each site and body bytes (gunicorn
access log), SQL statements issued by each site's database user (MariaDB userstat), rows added to
Event Update Log, Event Update Log Consumer and Event Sync Log.

It measures nothing of its own: catch-up and end to end take a Meter mark around their work (see
benchmarks.meter); this module lays their costs side by side."""

PHASE = None  # a section of the report only; nothing to run
# scenario label, and where its list of costs is in one size's results
SCENARIOS = [
	("catch-up ToDo", ("catchup", "ToDo", "costs")),
	("catch-up Note", ("catchup", "Note", "costs")),
	("streaming ToDo", ("stream", "costs")),
	("single changes", ("stream", "single_costs")),
]
METRICS = [
	("HTTP requests served by producer", "http_producer", ""),
	("HTTP requests served by consumer", "http_consumer", ""),
	("HTTP body bytes (both ways)", "bytes", " B"),
	("SQL statements by producer", "sql_producer", ""),
	("SQL statements by consumer", "sql_consumer", ""),
	("Rows added: Event Update Log", "rows Event Update Log", ""),
	("Rows added: Event Update Log Consumer", "rows Event Update Log Consumer", ""),
	("Rows added: Event Sync Log", "rows Event Sync Log", ""),
]


def report(table) -> None:
	present = [
		(name, path) for name, path in SCENARIOS if any(table.pick(size, *path) for size in table.sizes)
	]
	if not present:
		return
	table.section("4. Costs per replicated document (streaming and single changes include the write itself)")
	for label, metric, unit in METRICS:
		for name, path in present:
			table.add(
				f"{label}: {name}",
				{size: table.cost_values(size, path, metric) for size in table.sizes},
				unit,
			)
	# the last run's requests by path, in the JSON only: what to look at when a count changes
	for name, path in present:
		for size in table.sizes:
			costs = table.pick(size, *path)
			if costs:
				table.record(f"requests by path: {name}", size, costs[-1]["paths"])
