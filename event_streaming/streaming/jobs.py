# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""One way to run background work: coalesced, exclusive jobs that never drop a request.

``request_run(key, method)`` marks ``key`` pending and queues a job unless one is queued or running.
The job takes a site-wide database lock for ``key`` and runs its work while the pending mark is
set, clearing the mark before each round. A request that arrives while the work runs therefore
causes one more round (never a dropped change), and two workers never run the same key at once.
Cache keys and job ids share the format ``event_streaming::<what>::<id>``.
"""

import time
from collections.abc import Callable
from contextlib import contextmanager

import frappe

from event_streaming.streaming import lock_keys
from event_streaming.streaming.redaction import redact

PENDING_TTL = 24 * 3600
QUEUED_TTL = 15 * 60
# A worker killed mid-run leaves its running mark behind, and requests seeing it queue nothing: the
# mark lives only this long after the last round began. A round that outlasts it costs at most one
# extra job, which finds the lock taken and leaves its request to the running round.
RUNNING_TTL = 60


class LockTimeout(frappe.ValidationError):
	pass


def pending_key(key: str) -> str:
	return f"event_streaming::pending::{key}"


def queued_key(key: str) -> str:
	return f"event_streaming::queued::{key}"


def running_key(key: str) -> str:
	return f"event_streaming::running::{key}"


def request_run(key: str, method: str, queue: str = "default", timeout: int | None = None, **kwargs) -> None:
	"""Ask for ``method(**kwargs)`` to run (again) soon; cheap to call on every change."""
	if mark_pending_and_check_busy(key):
		return  # a queued or running job will see the pending mark
	frappe.cache.set_value(queued_key(key), 1, expires_in_sec=QUEUED_TTL)
	frappe.enqueue(
		method,
		queue=queue,
		timeout=timeout,
		job_id=f"event_streaming::{key}::{frappe.generate_hash(length=8)}",
		**kwargs,
	)


def mark_pending(key: str) -> None:
	"""Ask for one more round of ``key`` from whoever runs it next (see run_coalesced)."""
	frappe.cache.set(frappe.cache.make_key(pending_key(key)), 1, ex=PENDING_TTL)


def mark_pending_and_check_busy(key: str) -> bool:
	"""Set the pending mark and tell whether a job is queued or running, in one round trip: this
	runs after every commit that wrote a log, so a second round trip would tax every write."""
	cache = frappe.cache
	pipe = cache.pipeline(transaction=False)
	pipe.set(cache.make_key(pending_key(key)), 1, ex=PENDING_TTL)
	pipe.exists(cache.make_key(queued_key(key)), cache.make_key(running_key(key)))
	return bool(pipe.execute()[1])


def run_coalesced(key: str, work: Callable[[], None], wait: int = 0) -> bool:
	"""Run ``work`` while ``key`` is pending, holding the key's lock. False if the lock was busy."""
	frappe.cache.delete_value(queued_key(key))
	with exclusive(key, wait=wait) as acquired:
		if not acquired:
			# Another worker runs this key and will see the pending mark we leave in place.
			return False
		while True:
			try:
				while frappe.cache.exists(pending_key(key)):
					frappe.cache.set_value(running_key(key), 1, expires_in_sec=RUNNING_TTL)
					frappe.cache.delete_value(pending_key(key))
					work()
			finally:
				# a failed round must not leave the mark: it would stop requests from queueing a job
				frappe.cache.delete_value(running_key(key))
			# a request that saw the running mark just before it was removed is handled here
			if not frappe.cache.exists(pending_key(key)):
				break
	return True


@contextmanager
def failures_logged(title: str, reference_doctype: str | None = None, reference_name: str | None = None):
	"""For background entry points: an unexpected failure is rolled back and logged here, redacted,
	instead of reaching Frappe's job runner, which logs every local variable of every frame."""
	try:
		yield
	except Exception:
		frappe.db.rollback()
		log_failure(title, reference_doctype, reference_name)
		frappe.db.commit()  # nosemgrep: the Error Log row must outlive the rolled-back work


def log_failure(title: str, reference_doctype: str | None = None, reference_name: str | None = None):
	"""An Error Log of the current exception: traceback without variables, known secrets masked."""
	traceback = redact(frappe.get_traceback(with_context=False), known_secrets())
	frappe.log_error(
		title=redact(title, known_secrets()),
		message=traceback,
		reference_doctype=reference_doctype,
		reference_name=reference_name,
	)


def known_secrets() -> list[str]:
	"""The API secrets this site holds for its peers, and those its subscribers hand out."""
	from frappe.utils.password import get_decrypted_password

	secrets = []
	for doctype in ("Event Producer", "Event Consumer"):
		for name, user in frappe.get_all(doctype, fields=["name", "user"], as_list=True):
			secrets.append(get_decrypted_password(doctype, name, "api_secret", raise_exception=False))
			secrets.append(get_decrypted_password("User", user, "api_secret", raise_exception=False))
	return [secret for secret in secrets if secret]


def lock_name(key: str) -> str:
	"""The MariaDB lock name of ``key`` on this site (see lock_keys)."""
	return lock_keys.mariadb_lock_name(frappe.local.site, key)


def lock_key(key: str) -> int:
	"""The PostgreSQL advisory lock key of ``key`` on this site (see lock_keys)."""
	return lock_keys.postgres_lock_key(frappe.local.site, key)


@contextmanager
def exclusive(key: str, wait: int = 0):
	"""A database session lock shared by every worker of the site; released on disconnect too, and
	not by a commit or rollback. Callers that read under it start a fresh snapshot once they hold it
	(on PostgreSQL the statement taking the lock begins the transaction's snapshot)."""
	postgres = frappe.db.db_type == "postgres"
	if postgres:
		acquired = take_advisory_lock(lock_key(key), wait)
	else:
		acquired = frappe.db.sql("SELECT GET_LOCK(%s, %s)", (lock_name(key), wait))[0][0] == 1  # nosemgrep
	try:
		yield acquired
	finally:
		if acquired and postgres:
			release_advisory_lock(lock_key(key))
		elif acquired:
			frappe.db.sql("SELECT RELEASE_LOCK(%s)", (lock_name(key),))  # nosemgrep: no qb form


def release_advisory_lock(key: int) -> None:
	"""pg_advisory_unlock, also after a failed statement: PostgreSQL then refuses every statement
	but a rollback until the transaction ends, and the failure must reach the caller, not a refusal
	to unlock. That transaction is lost anyway; its caller rolls it back as it would have."""
	from psycopg2.extensions import TRANSACTION_STATUS_INERROR

	if frappe.db._conn.get_transaction_status() == TRANSACTION_STATUS_INERROR:
		frappe.db.rollback()
	frappe.db.sql("SELECT pg_advisory_unlock(%s)", (key,))  # nosemgrep: no qb form


def take_advisory_lock(key: int, wait: int) -> bool:
	"""pg_try_advisory_lock, retried for up to ``wait`` seconds. Not pg_advisory_lock with a
	lock_timeout: a timeout is an error, and an error aborts the caller's whole transaction."""
	deadline = time.monotonic() + wait
	pause = 0.02
	while True:
		if frappe.db.sql("SELECT pg_try_advisory_lock(%s)", (key,))[0][0]:  # nosemgrep: no qb form
			return True
		if time.monotonic() >= deadline:
			return False
		time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
		pause = min(pause * 2, 0.25)


# PostgreSQL's code for "could not serialize access due to concurrent update"
SERIALIZATION_FAILURE = "40001"


def write_status(write: Callable[[], None], attempts: int = 5, in_transaction: bool = False) -> None:
	"""A small status write to a row that other sessions also write (an Event Consumer's delivery
	status: the consumer's acknowledgements and the notification job). Frappe runs PostgreSQL at
	REPEATABLE READ, where updating a row another transaction changed since this one's snapshot
	began fails instead of waiting as on MariaDB: there the write starts a fresh snapshot (what the
	caller wrote before is committed first) and is tried again after such a conflict.

	``in_transaction`` first tries the write in the caller's transaction, under a savepoint, so that
	it commits together with what the caller wrote (an initial sync's chunk and its progress); only
	after a conflict does it commit the rest first and go on as above."""
	if frappe.db.db_type != "postgres":
		write()
		return
	if in_transaction:
		savepoint = "event_streaming_status"
		frappe.db.savepoint(savepoint)
		try:
			write()
		except Exception as error:
			if getattr(error, "pgcode", None) != SERIALIZATION_FAILURE:
				raise
			frappe.db.rollback(save_point=savepoint)
		else:
			frappe.db.release_savepoint(savepoint)
			return
	for attempt in range(1, attempts + 1):
		frappe.db.commit()  # nosemgrep: a snapshot that begins with this write
		try:
			write()
			return
		except Exception as error:
			if getattr(error, "pgcode", None) != SERIALIZATION_FAILURE or attempt == attempts:
				raise
			frappe.db.rollback()
			time.sleep(0.05 * attempt)
