# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Names every part of the benchmark shares: the two sites, where things are, the error it stops with."""

from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent
REPO = SCRIPTS.parent
ENTRY_POINT = SCRIPTS / "benchmark.py"
SERVICES_LIB = SCRIPTS / "lib" / "bench_services.sh"
PRODUCER = "es-producer.localhost"
CONSUMER = "es-consumer.localhost"
SITES = (PRODUCER, CONSUMER)
ALL_QUEUES = ["short", "default", "long"]
# what the consumer subscribes to, and where each keeps the title the run's prefix is written into
SUBSCRIBED = ("ToDo", "Note")
TITLE_FIELD = {"ToDo": "description", "Note": "title"}
CHILD_TABLES = {"Note": ["Note Seen By"]}


class BenchmarkError(Exception):
	"""A reason to stop before measuring (or mid-way) with one line on stderr, not a traceback."""


def chunks(values: list, size: int = 1000):
	"""Slices short enough for one ``IN %s`` each."""
	for start in range(0, len(values), size):
		yield values[start : start + size]
