# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Initial sync of the documents a producer had before the subscription: chunked, resumable,
cancellable, respecting conditions, never regressing a document the live stream changed, and
served by the producer only to the consumer's own user, for approved DocTypes."""

import os
import subprocess

import frappe

from event_streaming.streaming import health, snapshot, transport
from event_streaming.tests.test_health import set_local_settings
from event_streaming.tests.test_trust_producer import ProducerTrustTestCase
from event_streaming.tests.utils import (
	PRODUCER_URL,
	TwoSiteTestCase,
	make_event_producer,
	producer,
	remove_event_producer,
	unique,
	wait_for,
)

CHUNK = "event_streaming.api.get_snapshot_chunk"
COUNT = "event_streaming.api.count_documents"
PREFIX = unique("initial sync")


class InitialSyncTestCase(TwoSiteTestCase):
	"""ToDos that exist on the producer before this consumer subscribes (so no log carries them);
	the subscription's condition limits the sync to this class's documents."""

	subscribe = [{"ref_doctype": "ToDo", "condition": f"(doc.description or '').startswith({PREFIX!r})"}]

	@classmethod
	def setUpClass(cls):
		remove_event_producer()
		cls.existing = [
			producer().insert({"doctype": "ToDo", "description": f"{PREFIX} {index}"}) for index in range(5)
		]
		cls.other = producer().insert({"doctype": "ToDo", "description": unique("not initial sync")})
		super().setUpClass()

	@classmethod
	def tearDownClass(cls):
		for doc in [*cls.existing, cls.other]:
			producer().delete_if_exists("ToDo", doc["name"])
		frappe.db.delete("ToDo", {"description": ("like", f"{PREFIX}%")})
		frappe.db.delete(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL})
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		super().setUp()
		frappe.db.delete("ToDo", {"description": ("like", f"{PREFIX}%")})
		frappe.db.delete(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL})
		frappe.db.commit()

	def local_description(self, name: str) -> str | None:
		return frappe.db.get_value("ToDo", name, "description")

	def start(self) -> str:
		(run_name,) = snapshot.start(PRODUCER_URL, "ToDo", enqueue=False)
		return run_name


class TestInitialSync(InitialSyncTestCase):
	def test_existing_documents_arrive_once_and_local_copies_update_in_place(self):
		stale = self.existing[0]
		frappe.get_doc({"doctype": "ToDo", "description": f"{PREFIX} stale copy"}).insert(
			set_name=stale["name"]
		)
		frappe.db.commit()
		run_name = self.start()
		self.assertEqual(snapshot.run(run_name, chunk_size=100), "Completed")  # several chunks
		for doc in self.existing:
			self.assertEqual(self.local_description(doc["name"]), doc["description"])
		self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"{PREFIX}%")}), 5)
		run = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
		self.assertEqual((run.processed, run.applied, run.failed), (5, 5, 0))
		self.assertGreaterEqual(run.total, 6)  # the producer's count, before the condition
		self.assertTrue(run.started_at and run.finished_at)
		# the condition holds: the other ToDo never came
		self.assertFalse(frappe.db.exists("ToDo", self.other["name"]))
		# a second run changes nothing and duplicates nothing
		self.assertEqual(snapshot.run(self.start()), "Completed")
		self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"{PREFIX}%")}), 5)

	def test_a_chunk_never_overwrites_a_newer_change_of_the_stream(self):
		run_name = self.start()
		changed = min(self.existing, key=lambda doc: doc["name"])
		# the producer's other ToDos (failing the condition) may fill the first chunks: skip to ours
		chunk = snapshot.fetch_chunk(run_name)
		while not chunk["documents"] and chunk["has_more"]:
			snapshot.apply_chunk(run_name, chunk)
			chunk = snapshot.fetch_chunk(run_name)
		in_chunk = [doc["name"] for doc in chunk["documents"]]
		self.assertIn(changed["name"], in_chunk)
		# changed on the producer after the chunk was read: the stream brings it before the chunk
		self.producer.update("ToDo", changed["name"], {"description": f"{PREFIX} newer"})
		try:
			snapshot.apply_chunk(run_name, chunk)
			self.assertEqual(self.local_description(changed["name"]), f"{PREFIX} newer")
			run = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
			self.assertEqual((run.applied, run.skipped), (len(in_chunk) - 1, 1))
		finally:
			self.producer.update("ToDo", changed["name"], {"description": changed["description"]})

	def test_a_killed_run_resumes_and_a_cancelled_one_stops(self):
		run_name = self.start()
		# one chunk done, then the worker was killed: the run is left Running
		snapshot.apply_chunk(run_name, snapshot.fetch_chunk(run_name, chunk_size=2))
		first = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
		self.assertTrue(first.last_name)
		frappe.db.set_value(snapshot.RUN_DOCTYPE, run_name, "status", "Running")
		frappe.db.commit()
		self.assertEqual(self.start(), run_name, "the unfinished run is resumed, not started again")
		frappe.db.set_value(snapshot.RUN_DOCTYPE, run_name, "cancel_requested", 1)
		frappe.db.commit()
		self.assertEqual(snapshot.run(run_name), "Cancelled")
		self.assertEqual(frappe.db.get_value(snapshot.RUN_DOCTYPE, run_name, "processed"), first.processed)
		self.assertEqual(self.start(), run_name)
		self.assertEqual(snapshot.run(run_name), "Completed")
		run = frappe.get_doc(snapshot.RUN_DOCTYPE, run_name)
		# every document once: what the first chunk did is not fetched again
		self.assertEqual(run.processed, 5)
		self.assertEqual(frappe.db.count("ToDo", {"description": ("like", f"{PREFIX}%")}), 5)

	def test_bench_command_waits_and_exits_non_zero_on_failure(self):
		def bench(*args):
			bench_path = frappe.utils.get_bench_path()
			return subprocess.run(
				[
					os.path.join(bench_path, "env", "bin", "python"),
					"-m",
					"frappe.utils.bench_helper",
					"frappe",
					"--site",
					frappe.local.site,
					"event-streaming",
					"sync-existing",
					*args,
				],
				cwd=os.path.join(bench_path, "sites"),
				capture_output=True,
				text=True,
				timeout=300,
			)

		done = bench("--producer", PRODUCER_URL, "--doctype", "ToDo")
		self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
		self.assertIn("Completed", done.stdout)
		frappe.db.commit()
		for doc in self.existing:
			self.assertEqual(self.local_description(doc["name"]), doc["description"])
		self.assertNotEqual(bench("--producer", "http://no-such-producer.invalid").returncode, 0)
		self.assertNotEqual(bench("--producer", PRODUCER_URL, "--doctype", "Note").returncode, 0)

	def test_only_system_managers_start_or_cancel_from_desk(self):
		from event_streaming import api

		frappe.set_user("Guest")
		try:
			for call in (
				lambda: api.get_initial_sync_counts(PRODUCER_URL),
				lambda: api.start_initial_sync(PRODUCER_URL),
			):
				self.assertRaises(frappe.PermissionError, call)
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(frappe.db.count(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL}), 0)
		counts = {row["doctype"]: row["count"] for row in api.get_initial_sync_counts(PRODUCER_URL)}
		self.assertGreaterEqual(counts["ToDo"], 6)


class TestSyncOnApproval(InitialSyncTestCase):
	"""A subscription the producer approves later: existing documents are synced when the settings
	say so, and otherwise offered to System Managers."""

	def setUp(self):
		super().setUp()
		make_event_producer(self.subscribe, auto_approve=False)
		frappe.db.delete(
			"Notification Log", {"document_type": "Event Producer", "document_name": PRODUCER_URL}
		)
		frappe.db.commit()
		self.addCleanup(set_local_settings, initial_sync_on_approval=0)

	def approve_on_the_producer(self):
		remote = self.producer.get("Event Consumer", frappe.utils.get_url())
		for row in remote["consumer_doctypes"]:
			row["status"] = "Approved"
		self.producer.update(
			"Event Consumer", remote["name"], {"consumer_doctypes": remote["consumer_doctypes"]}
		)

	def offers(self) -> list[str]:
		return frappe.get_all(
			"Notification Log",
			filters={"document_type": "Event Producer", "document_name": PRODUCER_URL},
			pluck="subject",
		)

	def test_existing_documents_are_synced_when_the_producer_approves(self):
		set_local_settings(initial_sync_on_approval=1)
		self.assertFalse(frappe.db.exists(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL}))
		self.approve_on_the_producer()
		wait_for(
			lambda: (
				frappe.db.get_value(
					snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL, "ref_doctype": "ToDo"}, "status"
				)
				== "Completed"
			),
			timeout=90,
			message="the initial sync started on approval to complete",
		)
		for doc in self.existing:
			self.assertEqual(self.local_description(doc["name"]), doc["description"])
		self.assertEqual(self.offers(), [], "synced, so nothing to offer")

	def test_otherwise_system_managers_are_offered_the_sync(self):
		self.approve_on_the_producer()
		wait_for(lambda: self.offers(), timeout=60, message="the offer to sync existing documents")
		self.assertIn("ToDo", self.offers()[0])
		self.assertEqual(len(self.offers()), len(health.system_managers()))
		self.assertFalse(frappe.db.exists(snapshot.RUN_DOCTYPE, {"event_producer": PRODUCER_URL}))
		self.assertFalse(frappe.db.exists("ToDo", self.existing[0]["name"]))


class TestSnapshotEndpoint(ProducerTrustTestCase):
	subscribe = [{"ref_doctype": "ToDo"}]

	def test_only_the_consumers_user_reads_chunks_of_approved_doctypes(self):
		ours = frappe.utils.get_url()
		peer = transport.producer_peer(frappe.get_doc("Event Producer", PRODUCER_URL))
		chunk = peer.call(CHUNK, event_consumer=ours, doctype="ToDo", after="", limit=3)
		self.assertLessEqual(len(chunk["documents"]), 3)
		self.assertIn("high_sequence", chunk)
		self.assertEqual(set(peer.call(COUNT, event_consumer=ours)), {"ToDo"})
		# a DocType this consumer is not approved for
		with self.assertRaises(transport.PeerError):
			peer.call(CHUNK, event_consumer=ours, doctype="User", after="")
		with self.assertRaises(transport.PeerError):
			peer.call(CHUNK, event_consumer=ours, doctype="Note", after="")
		# another user of the producer, even a System User
		other = self.make_user(["System Manager"])
		self.assertRefused(403, other.call, CHUNK, event_consumer=ours, doctype="ToDo", after="")
		self.assertRefused(403, other.call, COUNT, event_consumer=ours)
