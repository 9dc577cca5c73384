# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Names of the database locks of jobs.exclusive, one per site and key, on either database.

MariaDB names its session locks by text (at most 64 characters, server-wide); PostgreSQL's
advisory locks take a signed 64-bit number (per database). Both are derived from the same
site-scoped text, so a site's lock is the same lock whichever worker takes it. No frappe import.
"""

import hashlib


def scoped(site: str, key: str) -> bytes:
	return f"{site}::{key}".encode()


def mariadb_lock_name(site: str, key: str) -> str:
	"""A GET_LOCK name: 56 characters, whatever the key's length."""
	return f"event_streaming:{hashlib.sha1(scoped(site, key)).hexdigest()}"


def postgres_lock_key(site: str, key: str) -> int:
	"""A pg_advisory_lock key: the first 8 bytes of the same digest, as a signed 64-bit integer."""
	return int.from_bytes(hashlib.sha1(scoped(site, key)).digest()[:8], "big", signed=True)
