# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Cursor arithmetic for both feeds, on plain values.

v2: the cursor is the highest commit-order ``sequence`` applied; it only ever moves forward.
v1 (original producers): the watermark is a ``creation`` timestamp text, which can skip a log whose
transaction committed late. We re-read an overlap window behind it and skip what was already
applied, which closes that loss for transactions shorter than the window. No frappe import.
"""

import datetime

V1_OVERLAP = datetime.timedelta(minutes=10)


def advance(current: int | None, candidate: int | None) -> int:
	"""The cursor after seeing ``candidate``: never lower than before."""
	return max(int(current or 0), int(candidate or 0))


def parse_timestamp(value) -> datetime.datetime | None:
	if not value:
		return None
	if isinstance(value, datetime.datetime):
		return value
	try:
		return datetime.datetime.fromisoformat(str(value).strip())
	except ValueError:
		return None


def format_timestamp(value: datetime.datetime) -> str:
	"""The original's text form, ``str(datetime)``: microseconds only when non-zero."""
	return str(value)


def v1_request_watermark(
	last_update, original_watermark=None, overlap: datetime.timedelta = V1_OVERLAP
) -> str | None:
	"""The ``last_update`` to send an original producer: our watermark minus the overlap window,
	but never below ``original_watermark`` (where the original app stood when this site was
	upgraded: it applied everything up to there, and its sync logs do not name the logs)."""
	moment = parse_timestamp(last_update)
	floor = parse_timestamp(original_watermark)
	if moment is None:
		return format_timestamp(floor) if floor else (last_update or None)
	start = moment - overlap
	if floor is not None and floor > start:
		start = min(floor, moment)
	return format_timestamp(start)


def later_timestamp(first, second) -> str | None:
	"""The later of two watermark texts (unparseable values lose)."""
	a, b = parse_timestamp(first), parse_timestamp(second)
	if a is None:
		return str(second) if b is not None else (first or second)
	if b is None:
		return str(first)
	return format_timestamp(max(a, b))
