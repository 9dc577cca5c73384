# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""The subscription the measurements stream through: the consumer subscribed to ToDo and Note on
the producer (registration over HTTP, as a user would do it), two more consumers that never answer,
approvals switched on and off between write conditions, and all of it removed again, API keys the
run had to create included."""

import socket

from benchmarks.common import CONSUMER, PRODUCER, SITES, SUBSCRIBED, BenchmarkError
from benchmarks.site_tasks import site_task

# --- inside a site -----------------------------------------------------------------------------


@site_task("ensure_api_keys")
def ensure_api_keys(user: str = "Administrator") -> dict:
	import frappe
	from frappe.utils.password import get_decrypted_password, set_encrypted_password

	key = frappe.db.get_value("User", user, "api_key")
	secret = get_decrypted_password("User", user, "api_secret", raise_exception=False) if key else None
	created_key = created_secret = False
	if not key:
		key = frappe.generate_hash(length=15)
		frappe.db.set_value("User", user, "api_key", key, update_modified=False)
		created_key = True
	if not secret:
		secret = frappe.generate_hash(length=15)
		set_encrypted_password("User", user, secret, "api_secret")
		created_secret = True
	return {
		"api_key": key,
		"api_secret": secret,
		"created_key": created_key,
		"created_secret": created_secret,
	}


@site_task("remove_api_keys")
def remove_api_keys(created_key: bool, created_secret: bool, user: str = "Administrator") -> dict:
	import frappe
	from frappe.utils.password import remove_encrypted_password

	if created_secret:
		remove_encrypted_password("User", user, "api_secret")
	if created_key:
		frappe.db.set_value("User", user, "api_key", None, update_modified=False)
	return {}


@site_task("subscribe")
def subscribe(producer_url: str, api_key: str, api_secret: str) -> dict:
	"""Subscribe this (consumer) site to the producer: registration runs over HTTP as usual."""
	import frappe

	doc = frappe.get_doc(
		{
			"doctype": "Event Producer",
			"producer_url": producer_url,
			"user": "Administrator",
			"api_key": api_key,
			"api_secret": api_secret,
			"producer_doctypes": [{"ref_doctype": doctype, "use_same_name": 1} for doctype in SUBSCRIBED],
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()
	return {"consumer_url": frappe.utils.get_url(), "protocol": doc.protocol_version}


@site_task("approve")
def approve(consumer_urls: list[str], status: str = "Approved") -> dict:
	"""Set every row of these Event Consumers to ``status`` directly (nothing mirrored, no settings
	touched). Pending rows are not streamed: capture writes nothing and nobody is notified for them."""
	import frappe

	from event_streaming.streaming import capture

	for url in consumer_urls:
		if not frappe.db.exists("Event Consumer", url):
			raise BenchmarkError(f"the producer has no Event Consumer {url}")
		frappe.db.set_value(
			"Event Consumer Document Type",
			{"parent": url, "parenttype": "Event Consumer"},
			"status",
			status,
			update_modified=False,
		)
	frappe.db.commit()
	capture.clear_streamed_cache()
	return {}


@site_task("add_fake_consumers")
def add_fake_consumers(urls: list[str]) -> dict:
	"""Register consumers that never answer (their callback URLs point at closed local ports)."""
	import frappe

	for url in urls:
		frappe.get_doc(
			{
				"doctype": "Event Consumer",
				"callback_url": url,
				"user": "Administrator",
				"api_key": "benchmark",
				"api_secret": "benchmark",
				"consumer_doctypes": [{"ref_doctype": doctype} for doctype in SUBSCRIBED],
			}
		).insert(ignore_permissions=True)
	frappe.db.commit()
	return approve(urls)


def drop_document(doctype: str, name: str, since: str) -> None:
	"""Remove a record we made without leaving a Deleted Document or log behind, with the Versions
	written since ``since`` (the app's db_set calls during registration write one)."""
	import frappe
	from frappe.utils.password import delete_all_passwords_for

	frappe.db.delete("Version", {"ref_doctype": doctype, "docname": name, "creation": (">=", since)})
	if not frappe.db.exists(doctype, name):
		return
	for df in frappe.get_meta(doctype).get_table_fields():
		frappe.db.delete(df.options, {"parent": name, "parenttype": doctype})
	frappe.db.delete(doctype, {"name": name})
	delete_all_passwords_for(doctype, name)


@site_task("drop_consumers")
def drop_consumers(urls: list[str], since: str) -> dict:
	import frappe

	from event_streaming.streaming import capture

	for url in urls:
		drop_document("Event Consumer", url, since)
		frappe.db.delete("Event Update Log Consumer", {"consumer": url})
	frappe.db.commit()
	capture.clear_streamed_cache()
	return {}


@site_task("unsubscribe")
def unsubscribe(producer_url: str, since: str) -> dict:
	import frappe

	drop_document("Event Producer", producer_url, since)
	frappe.db.delete("Event Producer Last Update", {"event_producer": producer_url})
	frappe.db.commit()
	return {}


# --- the driver's side -------------------------------------------------------------------------


def closed_ports(count: int) -> list[int]:
	"""Local ports nothing listens on: a consumer there refuses every notification at once."""
	ports = []
	for _ in range(count):
		with socket.socket() as probe:
			probe.bind(("127.0.0.1", 0))
			ports.append(probe.getsockname()[1])
	return ports


class Subscription:
	def __init__(self, bench):
		self.bench = bench
		self.subscribed = False
		self.fakes_added = False
		self.api_keys: dict[str, dict] = {}

	@property
	def active(self) -> bool:
		"""Whether anything is registered that unsubscribe() must remove."""
		return self.subscribed or self.fakes_added

	def ensure_api_keys(self) -> None:
		for site in SITES:
			if site not in self.api_keys:
				self.api_keys[site] = self.bench.task(site, "ensure_api_keys")

	def subscribe(self) -> None:
		bench = self.bench
		bench.say("subscribing the consumer to ToDo and Note (one approved consumer)")
		self.ensure_api_keys()
		keys = self.api_keys[PRODUCER]
		self.subscribed = True
		reply = bench.task(
			CONSUMER,
			"subscribe",
			producer_url=bench.producer_url,
			api_key=keys["api_key"],
			api_secret=keys["api_secret"],
		)
		bench.consumer_url = reply["consumer_url"]
		self.approve([bench.consumer_url])

	def ensure_subscribed(self) -> None:
		if not self.subscribed:
			self.subscribe()

	def approve(self, consumer_urls: list[str], status: str = "Approved") -> None:
		self.bench.task(PRODUCER, "approve", consumer_urls=consumer_urls, status=status)

	def add_unreachable_consumers(self) -> None:
		bench = self.bench
		bench.say(f"registering two unreachable consumers on the producer ({', '.join(bench.fake_urls)})")
		self.fakes_added = True
		bench.task(PRODUCER, "add_fake_consumers", urls=bench.fake_urls)

	def drop_unreachable_consumers(self) -> None:
		bench = self.bench
		bench.task(PRODUCER, "drop_consumers", urls=bench.fake_urls, since=bench.site_start[PRODUCER])
		self.fakes_added = False

	def unsubscribe(self) -> None:
		bench = self.bench
		bench.say("removing the subscription from both sites")
		bench.task(CONSUMER, "unsubscribe", producer_url=bench.producer_url, since=bench.site_start[CONSUMER])
		bench.task(
			PRODUCER,
			"drop_consumers",
			urls=[bench.consumer_url, *bench.fake_urls],
			since=bench.site_start[PRODUCER],
		)
		self.subscribed = self.fakes_added = False

	def remove_api_keys(self) -> None:
		"""Remove only the keys this run created; keys a user had stay."""
		for site, keys in self.api_keys.items():
			if keys["created_key"] or keys["created_secret"]:
				self.bench.task(
					site,
					"remove_api_keys",
					created_key=keys["created_key"],
					created_secret=keys["created_secret"],
				)
