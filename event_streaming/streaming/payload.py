# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Shape and check the payloads that cross the wire, on plain values.

A feed row is ``{update_type, ref_doctype, docname, data, name, creation}`` (plus ``sequence`` on
the v2 feed); ``data`` is the JSON text of a Create snapshot, an Update diff, or null for Delete.
Registration data is the original's dict with ``consumer_doctypes`` double-encoded as JSON text.
Anything a peer sends is checked here before it reaches a document. No frappe import.
"""

import json

from event_streaming.streaming.diff import DIFF_KEYS

UPDATE_TYPES = ("Create", "Update", "Delete")
FEED_ROW_KEYS = ("update_type", "ref_doctype", "docname", "name", "creation")


class PayloadError(ValueError):
	"""A peer sent something that is not a valid event streaming payload."""


def parse_json(value, what: str):
	"""Parse JSON text (or pass a parsed value through), raising PayloadError on garbage."""
	if value is None or isinstance(value, dict | list):
		return value
	try:
		return json.loads(value)
	except (TypeError, ValueError) as error:
		raise PayloadError(f"{what} is not valid JSON: {error}") from error


def check_feed_row(row) -> dict:
	"""Validate one feed row and return it with ``data`` parsed (dict, or None for Delete)."""
	if not isinstance(row, dict):
		raise PayloadError("a feed row must be an object")
	missing = [key for key in FEED_ROW_KEYS if row.get(key) in (None, "")]
	if missing:
		raise PayloadError("a feed row lacks " + ", ".join(missing))
	if row["update_type"] not in UPDATE_TYPES:
		raise PayloadError(f"unknown update type {row['update_type']!r}")
	checked = dict(row)
	checked["name"] = str(row["name"])
	checked["data"] = parse_json(row.get("data"), "the data of a feed row")
	if checked["update_type"] == "Delete":
		checked["data"] = None
	elif not isinstance(checked["data"], dict):
		raise PayloadError(f"a {row['update_type']} row must carry an object")
	elif checked["update_type"] == "Update":
		checked["data"] = normalise_diff(checked["data"])
	return checked


def normalise_diff(diff: dict) -> dict:
	"""Make sure all four diff keys exist and hold objects (original producers always send them)."""
	clean = {}
	for key in DIFF_KEYS:
		value = diff.get(key) or {}
		if not isinstance(value, dict):
			raise PayloadError(f"the diff key {key!r} must hold an object")
		clean[key] = value
	for key, value in diff.items():
		if key not in clean:
			clean[key] = value
	return clean


def check_feed_page(page) -> dict:
	"""Validate a v2 feed page ``{logs, next_cursor, has_more}``."""
	if not isinstance(page, dict) or not isinstance(page.get("logs"), list):
		raise PayloadError("the producer's feed page is not an object with a list of logs")
	try:
		next_cursor = int(page.get("next_cursor") or 0)
	except (TypeError, ValueError) as error:
		raise PayloadError("the producer's feed cursor is not a number") from error
	return {
		"logs": [check_feed_row(row) for row in page["logs"]],
		"next_cursor": next_cursor,
		"has_more": bool(page.get("has_more")),
	}


def build_registration(
	consumer_url: str, subscriptions: list[dict], user: str, api_key: str, api_secret: str
) -> dict:
	"""The original's registration ``data``: ``consumer_doctypes`` is JSON text inside JSON."""
	return {
		"event_consumer": consumer_url,
		"consumer_doctypes": json.dumps(
			[{"doctype": row["doctype"], "condition": row.get("condition") or None} for row in subscriptions]
		),
		"user": user,
		"api_key": api_key,
		"api_secret": api_secret,
	}


def parse_registration(data) -> dict:
	"""Parse registration data from the original's or our consumers (double-encoded or not)."""
	data = parse_json(data, "the registration data")
	if not isinstance(data, dict):
		raise PayloadError("the registration data must be an object")
	for key in ("event_consumer", "user", "api_key", "api_secret"):
		if not data.get(key) or not isinstance(data[key], str):
			raise PayloadError(f"the registration data lacks {key}")
	rows = parse_json(data.get("consumer_doctypes") or "[]", "consumer_doctypes")
	if not isinstance(rows, list) or not all(
		isinstance(row, dict)
		and row.get("doctype")
		and isinstance(row["doctype"], str)
		and isinstance(row.get("condition") or "", str)
		for row in rows
	):
		raise PayloadError("consumer_doctypes must be a list of objects with a text doctype and condition")
	return {
		"event_consumer": data["event_consumer"].rstrip("/"),
		"user": data["user"],
		"api_key": data["api_key"],
		"api_secret": data["api_secret"],
		"consumer_doctypes": [
			{"doctype": row["doctype"], "condition": (row.get("condition") or "").strip() or None}
			for row in rows
		],
	}


def normalise_site_url(url: str) -> str:
	"""Validate a peer URL (http or https, with a host) and strip trailing slashes."""
	from urllib.parse import urlparse

	url = (url or "").strip()
	parsed = urlparse(url)
	if parsed.scheme not in ("http", "https") or not parsed.netloc:
		raise PayloadError(f"{url!r} is not an http or https URL")
	if parsed.query or parsed.fragment:
		raise PayloadError(f"{url!r} must not carry a query or fragment")
	return url.rstrip("/")
