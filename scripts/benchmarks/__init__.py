# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The parts of scripts/benchmark.py.

Measurements, one module each (PHASE, measure(bench, size), report(table); listed in
MEASUREMENTS in scripts/benchmark.py): producer_writes, catch_up, end_to_end, costs_per_document.

What they share: bench (the Bench handle: sites, SQL as root, Redis, running site tasks),
site_tasks (work done inside a site, in its own process), services (web server and worker through
scripts/lib/bench_services.sh), meter (HTTP, SQL and log-row costs between two marks), cleanup
(removing what a run wrote; row counts before and after), subscription (the consumer's
subscription, unreachable consumers, API keys), preflight, provenance (code and machine), table
(statistics and the Markdown table), common (site names, paths, BenchmarkError).
"""
