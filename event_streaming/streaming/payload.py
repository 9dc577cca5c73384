# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Shape and check the payloads that cross the wire, on plain values.

A feed row is ``{update_type, ref_doctype, docname, data, name, creation}`` (plus ``sequence`` on
the v2 feed); ``data`` is the JSON text of a Create snapshot, an Update diff, or null for Delete.
Registration data is the original's dict with ``consumer_doctypes`` double-encoded as JSON text.
Anything a peer sends is checked here before it reaches a document. No frappe import.
"""

import json
import re

from event_streaming.streaming.diff import DIFF_KEYS

UPDATE_TYPES = ("Create", "Update", "Delete")
FEED_ROW_KEYS = ("update_type", "ref_doctype", "docname", "name", "creation")
# a site's host (letters, digits, dots, hyphens, underscores) or bracketed IPv6, with an optional port
SITE_NETLOC = re.compile(r"(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# document and log names are varchar(140) columns; sequences and cursors are Int columns
MAX_NAME_LENGTH = 140
MAX_SEQUENCE = 2**31 - 1


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
		raise PayloadError(f"unknown update type {_quoted(row['update_type'])}")
	checked = dict(row)
	checked["ref_doctype"] = check_name(row["ref_doctype"], "the DocType of a feed row")
	checked["docname"] = check_name(row["docname"], "the document name of a feed row")
	checked["name"] = check_name(row["name"], "the name of a feed row")
	if row.get("sequence") is not None:
		checked["sequence"] = check_sequence(row["sequence"], "the sequence of a feed row")
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
	"""Validate a v2 feed page ``{logs, next_cursor, has_more}``. The logs are returned as they came:
	the consumer checks each with :func:`check_feed_row`, so one bad log fails alone instead of
	stopping the stream at that page."""
	if not isinstance(page, dict) or not isinstance(page.get("logs"), list):
		raise PayloadError("the producer's feed page is not an object with a list of logs")
	return {
		"logs": page["logs"],
		"next_cursor": check_sequence(page.get("next_cursor") or 0, "the producer's feed cursor"),
		"has_more": bool(page.get("has_more")),
	}


def check_name(value, what: str) -> str:
	"""A document, DocType or log name: text (or a whole number) of at most 140 characters that a
	database can store."""
	if isinstance(value, bool) or not isinstance(value, str | int):
		raise PayloadError(f"{what} is not text but {type(value).__name__}")
	value = str(value)
	if not value.strip():
		raise PayloadError(f"{what} is empty")
	if len(value) > MAX_NAME_LENGTH:
		raise PayloadError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
	if not is_storable(value):
		raise PayloadError(f"{what} {_quoted(value)} holds a NUL character or invalid Unicode")
	return value


def is_storable(text: str) -> bool:
	"""Can a database take ``text``? Not with a NUL (PostgreSQL refuses it) or a lone surrogate
	(which JSON can carry but UTF-8 cannot: the driver fails the whole statement)."""
	if "\x00" in text:
		return False
	try:
		text.encode("utf-8")
	except UnicodeEncodeError:
		return False
	return True


def storable_text(text: str | None) -> str | None:
	"""``text`` made storable: NULs dropped, lone surrogates replaced. For what this site keeps of a
	peer's words (error texts, names of rows that failed their checks), where one bad character
	must not fail the statement that records everything else."""
	if text is None or is_storable(text):
		return text
	return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def check_sequence(value, what: str) -> int:
	"""A sequence number or cursor: a whole number from 0 up to what an Int column holds."""
	if isinstance(value, bool) or not isinstance(value, str | int | float):
		raise PayloadError(f"{what} is not a number")
	try:
		number = int(value)
	except (TypeError, ValueError, OverflowError) as error:
		raise PayloadError(f"{what} is not a number") from error
	if number != value and str(number) != str(value).strip():
		raise PayloadError(f"{what} is not a whole number")
	if not 0 <= number <= MAX_SEQUENCE:
		raise PayloadError(f"{what} {number} is out of range")
	return number


def _quoted(value) -> str:
	"""A peer's value in our message, shortened: messages must stay readable whatever was sent."""
	text = repr(value)
	return text if len(text) <= 60 else text[:57] + "..."


def parse_name_list(value, what: str, limit: int) -> list[str]:
	"""A list of names given as a list or its JSON text (a single JSON string counts as one name):
	each a non-empty string (numbers are read as text), at most ``limit`` of them."""
	names = parse_json(value, what) if isinstance(value, str | bytes) else value
	if isinstance(names, str):
		names = [names]
	if not isinstance(names, list | tuple):
		raise PayloadError(f"{what} must be a list of names")
	if len(names) > limit:
		raise PayloadError(f"{what} holds {len(names)} names; at most {limit} are accepted at once")
	checked = []
	for name in names:
		if isinstance(name, bool) or not isinstance(name, str | int) or name == "":
			raise PayloadError(f"{what} must hold only non-empty names, not {name!r:.60}")
		if not is_storable(str(name)):
			raise PayloadError(f"{what} holds a name with a NUL character or invalid Unicode")
		checked.append(str(name))
	return checked


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
	"""Validate a peer URL and return it without trailing slashes. A site is an http(s) origin:
	scheme, host and optional port; no path, query, fragment or credentials, so nothing a peer
	sends can steer our calls to another path or carry a password in a URL."""
	from urllib.parse import urlsplit

	url = (url or "").strip() if isinstance(url, str) else ""
	parsed = urlsplit(url)
	if parsed.scheme not in ("http", "https") or not parsed.hostname:
		raise PayloadError(f"{url!r} is not an http or https URL")
	if any(char.isspace() or char == "\\" for char in url):
		raise PayloadError(f"{url!r} must not contain spaces or backslashes")
	if parsed.username is not None or parsed.password is not None or "@" in parsed.netloc:
		raise PayloadError(f"{url!r} must not carry a user name or password")
	if parsed.query or parsed.fragment or "?" in url or "#" in url:
		raise PayloadError(f"{url!r} must not carry a query or fragment")
	if parsed.path.strip("/"):
		raise PayloadError(f"{url!r} must be a site's address without a path, like https://example.com")
	try:
		parsed.port  # raises ValueError on a port that is not a number in range
	except ValueError as error:
		raise PayloadError(f"{url!r} has an invalid port") from error
	if not SITE_NETLOC.fullmatch(parsed.netloc):
		raise PayloadError(f"{url!r} is not an http or https URL: its host name has invalid characters")
	return f"{parsed.scheme}://{parsed.netloc}"
