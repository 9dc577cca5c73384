# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Two-site test support. Tests run on the consumer site; the producer is another site of the same
bench, reached only over real HTTP (scripts/two_site_tests.sh sets both up and runs a worker)."""

import json
import os
import subprocess
import time

import frappe
import requests
from frappe.tests.utils import FrappeTestCase

from event_streaming.streaming import pull

# The producer pair of each consumer site; scripts/lib/two_sites.sh writes the same into the consumer's
# site config (event_streaming_test_producer), this is the fallback for a bench set up by hand.
PRODUCER_OF = {
	"es-consumer.localhost": "es-producer.localhost",
	"es-consumer-pg.localhost": "es-producer-pg.localhost",
}
# the producer site on the other database, for test_mixed_databases
MIXED_PRODUCER_OF = {
	"es-consumer.localhost": "es-producer-pg.localhost",
	"es-consumer-pg.localhost": "es-producer.localhost",
}


def site_config(site: str) -> dict:
	"""Another site's configuration, read from the bench (this process is connected to its own)."""
	return frappe.get_site_config(site_path=os.path.join(frappe.local.sites_path, site))


def site_url(site: str) -> str:
	"""A site's own address (its host_name, which scripts/lib/two_sites.sh sets), as its peers use it."""
	return (site_config(site).get("host_name") or f"http://{site}:8000").rstrip("/")


def site_exists(site: str) -> bool:
	return os.path.isfile(os.path.join(frappe.local.sites_path, site, "site_config.json"))


# the one place the suite learns which site is its producer
PRODUCER_SITE = frappe.conf.get("event_streaming_test_producer") or PRODUCER_OF.get(
	frappe.local.site, "es-producer.localhost"
)
PRODUCER_URL = site_url(PRODUCER_SITE)
ADMIN_PASSWORD = os.environ.get("EVENT_STREAMING_ADMIN_PASSWORD", "admin")


class ProducerSite:
	"""The producer, driven as its Administrator over HTTP (REST and whitelisted methods)."""

	def __init__(self, url: str = PRODUCER_URL, user: str = "Administrator", password: str = ADMIN_PASSWORD):
		self.url = url
		self.session = requests.Session()
		reply = self.session.post(f"{url}/api/method/login", data={"usr": user, "pwd": password}, timeout=30)
		reply.raise_for_status()

	def request(self, verb: str, path: str, **kwargs):
		reply = self.session.request(verb, self.url + path, timeout=60, **kwargs)
		body = reply.json() if reply.headers.get("content-type", "").startswith("application/json") else {}
		if reply.status_code >= 400:
			raise ProducerError(reply.status_code, body)
		return body.get("message", body.get("data"))

	def call(self, method: str, **params):
		data = {
			key: json.dumps(value) if isinstance(value, dict | list) else value
			for key, value in params.items()
		}
		return self.request("POST", f"/api/method/{method}", data=data)

	def insert(self, doc: dict) -> dict:
		return self.request("POST", f"/api/resource/{doc['doctype']}", data={"data": json.dumps(doc)})

	def update(self, doctype: str, name: str, values: dict) -> dict:
		return self.request("PUT", f"/api/resource/{doctype}/{name}", data={"data": json.dumps(values)})

	def get(self, doctype: str, name: str) -> dict:
		return self.request("GET", f"/api/resource/{doctype}/{name}")

	def exists(self, doctype: str, name: str) -> bool:
		try:
			self.get(doctype, name)
		except ProducerError as error:
			if error.status == 404:
				return False
			raise
		return True

	def delete(self, doctype: str, name: str) -> None:
		# a delete that races a background job writing the same row is refused (PostgreSQL's
		# serialization failure; Frappe's "being modified by another user" when the row is locked):
		# as a person would, try again
		for attempt in range(3):
			try:
				self.request("DELETE", f"/api/resource/{doctype}/{name}")
				return
			except ProducerError as error:
				busy = error.body.get("exc_type") in ("SerializationFailure", "QueryTimeoutError")
				if attempt == 2 or not (busy or "SerializationFailure" in str(error.body)):
					raise
				time.sleep(1)

	def delete_if_exists(self, doctype: str, name: str) -> None:
		if self.exists(doctype, name):
			self.delete(doctype, name)

	def get_list(self, doctype: str, filters=None, fields=None, limit: int = 100) -> list:
		params = {"limit_page_length": limit}
		if filters is not None:
			params["filters"] = json.dumps(filters)
		if fields is not None:
			params["fields"] = json.dumps(fields)
		return self.request("GET", f"/api/resource/{doctype}", params=params)

	def set_settings(self, **values) -> None:
		self.update("Event Streaming Settings", "Event Streaming Settings", values)

	def api_keys(self, user: str = "Administrator") -> tuple[str, str]:
		secret = self.call("frappe.core.doctype.user.user.generate_keys", user=user)["api_secret"]
		key = self.call("frappe.client.get_value", doctype="User", filters=user, fieldname="api_key")[
			"api_key"
		]
		return key, secret

	def execute(self, method: str, **kwargs) -> subprocess.Popen:
		"""Run ``method`` in its own process on the producer site (its own transaction)."""
		bench = os.path.abspath(os.path.join(frappe.utils.get_bench_path(), "sites"))
		return subprocess.Popen(
			[
				os.path.join(frappe.utils.get_bench_path(), "env", "bin", "python"),
				"-m",
				"frappe.utils.bench_helper",
				"frappe",
				"--site",
				PRODUCER_SITE,
				"execute",
				method,
				"--kwargs",
				json.dumps(kwargs),
			],
			cwd=bench,
			stdout=subprocess.PIPE,
			stderr=subprocess.STDOUT,
		)


class ProducerError(Exception):
	def __init__(self, status: int, body: dict):
		super().__init__(f"{status}: {str(body)[:500]}")
		self.status = status
		self.body = body


_producers: dict[str, ProducerSite] = {}


def producer(url: str = PRODUCER_URL) -> ProducerSite:
	"""The producer at ``url`` (the suite's by default), logged in once."""
	if url not in _producers:
		_producers[url] = ProducerSite(url)
	return _producers[url]


def ensure_local_api_keys(user: str = "Administrator") -> None:
	if not frappe.db.get_value("User", user, "api_key"):
		doc = frappe.get_doc("User", user)
		doc.api_key = frappe.generate_hash(length=15)
		doc.api_secret = frappe.generate_hash(length=15)
		doc.save(ignore_permissions=True)
		frappe.db.commit()


def make_event_producer(
	rows: list[dict], auto_approve: bool = True, url: str = PRODUCER_URL, user: str = "Administrator"
) -> "frappe.Document":
	"""Subscribe this site to the producer at ``url``, replacing any earlier subscription of the tests.

	Approval is explicit: the producer's auto-approve setting is switched on for this consumer only.
	"""
	remove_event_producer(url)
	consumer_url = frappe.utils.get_url()
	producer(url).set_settings(
		auto_approve=int(auto_approve), auto_approve_consumers=consumer_url if auto_approve else ""
	)
	ensure_local_api_keys(user)
	api_key, api_secret = producer(url).api_keys()
	doc = frappe.get_doc(
		{
			"doctype": "Event Producer",
			"producer_url": url,
			"user": user,
			"api_key": api_key,
			"api_secret": api_secret,
			"producer_doctypes": [{"use_same_name": 1, **row} for row in rows],
		}
	).insert()
	frappe.db.commit()
	return doc


def remove_event_producer(url: str = PRODUCER_URL) -> None:
	"""Forget the producer on both sides, so every test class starts from a clean subscription."""
	if frappe.db.exists("Event Producer", url):
		frappe.delete_doc("Event Producer", url, force=True)
	frappe.db.delete("Event Producer Last Update", {"event_producer": url})
	frappe.db.delete("Event Sync Log", {"event_producer": url})
	frappe.db.commit()
	producer(url).delete_if_exists("Event Consumer", frappe.utils.get_url())


def pull_all(url: str = PRODUCER_URL) -> int:
	"""Pull everything pending from the producer, waiting for any pull the worker is running."""
	frappe.db.commit()
	applied = pull.pull_now(url, wait=120)
	frappe.db.commit()
	return applied


def wait_for(condition, timeout: float = 30, interval: float = 0.5, message: str = "condition"):
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		frappe.db.commit()  # a fresh snapshot, to see what the worker committed
		result = condition()
		if result:
			return result
		time.sleep(interval)
	raise AssertionError(f"timed out waiting for {message}")


def unique(prefix: str) -> str:
	return f"{prefix} {frappe.generate_hash(length=8)}"


class TwoSiteTestCase(FrappeTestCase):
	"""Base for scenarios that need the producer; every test owns and removes its fixtures."""

	subscribe: list[dict] = [{"ref_doctype": "ToDo"}, {"ref_doctype": "Note"}]
	# the producer's address: the suite's producer unless a class names another (test_mixed_databases)
	producer_url: str = PRODUCER_URL

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.event_producer = make_event_producer(cls.subscribe, url=cls.producer_url)

	@classmethod
	def tearDownClass(cls):
		remove_event_producer(cls.producer_url)
		super().tearDownClass()

	def setUp(self):
		frappe.set_user("Administrator")
		self.producer = producer(self.producer_url)
