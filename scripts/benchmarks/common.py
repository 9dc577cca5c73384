# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Names every part of the benchmark shares: the two sites, where things are, the error it stops with."""

import os
from pathlib import Path

from benchmarks.database import SITE_PAIRS

SCRIPTS = Path(__file__).resolve().parent.parent
REPO = SCRIPTS.parent
ENTRY_POINT = SCRIPTS / "benchmark.py"
SERVICES_LIB = SCRIPTS / "lib" / "bench_services.sh"
# the pair of sites scripts/two_site_tests.sh makes on this database; benchmark.py --db-type sets it
# (before these names are imported: every module names the sites through them)
DB_TYPE = os.environ.get("EVENT_STREAMING_DB_TYPE") or "mariadb"
if DB_TYPE not in SITE_PAIRS:
	raise SystemExit(f"benchmark: EVENT_STREAMING_DB_TYPE must be one of {', '.join(SITE_PAIRS)}")
PRODUCER, CONSUMER = SITE_PAIRS[DB_TYPE]
SITES = (PRODUCER, CONSUMER)
ALL_QUEUES = ["short", "default", "long"]
# what the consumer subscribes to, and where each keeps the title the run's prefix is written into
SUBSCRIBED = ("ToDo", "Note")
TITLE_FIELD = {"ToDo": "description", "Note": "title"}
CHILD_TABLES = {"Note": ["Note Seen By"]}


class BenchmarkError(Exception):
	"""A reason to stop before measuring (or mid-way) with one line on stderr, not a traceback."""


def chunks(values: list, size: int = 1000):
	"""Slices short enough for one ``IN %s`` each (tuples: PostgreSQL's driver sends a list as an array)."""
	for start in range(0, len(values), size):
		yield tuple(values[start : start + size])
