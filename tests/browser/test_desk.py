# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Operating event streaming from Desk, as a new user would (issue 12): subscribe on the consumer,
approve on the producer, see documents arrive, pull now, resync failed changes from the form and
from the list, read the health screens, and get a clear message for a producer that does not answer.

The tests of this module build on each other in file order (one subscription for all of them)."""

import re
import socket
import threading
import time

import pytest
from conftest import CONSUMER_URL, PRODUCER_URL, screenshot, wait_until
from desk import (
	add_grid_row,
	click_action,
	close_dialogs,
	dialog_text,
	edit_grid_row,
	field,
	fill,
	open_form,
	save,
	toast_text,
	visit,
	wait_saved,
)

SILENT_PEER_TIMEOUT = 5


def unique(prefix: str) -> str:
	return f"{prefix} {time.time_ns() % 10**10:010d}"


def forget_subscription(consumer_site, producer_site) -> None:
	consumer_site.delete_if_exists("Event Producer", PRODUCER_URL)
	producer_site.delete_if_exists("Event Consumer", CONSUMER_URL)


@pytest.fixture(scope="module")
def keys(consumer_site, producer_site):
	"""No subscription between the sites yet, approval by hand, keys generated on both sites."""
	forget_subscription(consumer_site, producer_site)
	producer_site.set_settings(auto_approve=0)
	consumer_site.api_keys()  # the producer calls back with the consumer's keys
	yield producer_site.api_keys()
	forget_subscription(consumer_site, producer_site)


@pytest.fixture
def cleanup(consumer_site, producer_site):
	"""Documents a test made, removed afterwards on both sites: (doctype, name) pairs."""
	made = []
	yield made
	for doctype, name in reversed(made):
		for site in (consumer_site, producer_site):
			site.delete_if_exists(doctype, name)


def local_todo(consumer_site, description: str) -> str | None:
	rows = consumer_site.get_list("ToDo", filters=[["description", "like", f"%{description}%"]])
	return rows[0]["name"] if rows else None


def subscription_status(consumer_site) -> str:
	doc = consumer_site.request("GET", f"/api/resource/Event Producer/{PRODUCER_URL.replace('/', '%2F')}")
	return doc["producer_doctypes"][0]["status"]


def test_subscribe_on_the_consumer_approve_on_the_producer_and_receive(
	consumer_desk, producer_desk, consumer_site, producer_site, keys, cleanup
):
	api_key, api_secret = keys
	page = consumer_desk
	open_form(page, CONSUMER_URL, "Event Producer")
	fill(page, "producer_url", PRODUCER_URL)
	add_grid_row(page, "producer_doctypes", {"ref_doctype": "ToDo"})
	fill(page, "api_key", api_key)
	fill(page, "api_secret", api_secret)
	fill(page, "user", "Administrator")
	save(page)
	wait_saved(page)
	assert page.evaluate("cur_frm.doc.name") == PRODUCER_URL
	assert "Pending" in field(page, "producer_doctypes").inner_text()

	# the producer's administrator approves the requested DocType on the Event Consumer form
	open_form(producer_desk, PRODUCER_URL, "Event Consumer", CONSUMER_URL)
	assert "ToDo" in field(producer_desk, "consumer_doctypes").inner_text()
	edit_grid_row(producer_desk, "consumer_doctypes", 1, {"status": "Approved"})
	save(producer_desk)
	wait_saved(producer_desk)
	wait_until(lambda: subscription_status(consumer_site) == "Approved", message="approval mirrored")
	open_form(producer_desk, PRODUCER_URL, "Event Consumer", CONSUMER_URL)
	screenshot(producer_desk, "event-consumer-form")

	# a ToDo made on the producer arrives on the consumer, where the user opens it
	description = unique("arrives in Desk")
	todo = producer_site.insert({"doctype": "ToDo", "description": description})
	cleanup.append(("ToDo", todo["name"]))
	name = wait_until(lambda: local_todo(consumer_site, description), message="the ToDo on the consumer")
	visit(page, f"{CONSUMER_URL}/app/todo/{name}")
	page.get_by_text(description).first.wait_for(state="visible")

	open_form(page, CONSUMER_URL, "Event Producer", PRODUCER_URL)
	open_form(page, CONSUMER_URL, "Event Producer", PRODUCER_URL)
	assert "Approved" in field(page, "producer_doctypes").inner_text()


def test_pull_now_runs_in_the_background_with_progress(
	consumer_desk, consumer_site, producer_site, keys, cleanup
):
	"""Pull Now returns at once; the form hears the background pull's progress and outcome."""
	page = consumer_desk
	descriptions = [unique("pulled now") for _ in range(2)]
	for description in descriptions:
		cleanup.append(
			("ToDo", producer_site.insert({"doctype": "ToDo", "description": description})["name"])
		)
	open_form(page, CONSUMER_URL, "Event Producer", PRODUCER_URL)
	# what the realtime channel tells the form, recorded next to the form's own handler
	page.wait_for_function("() => frappe.realtime.socket && frappe.realtime.socket.connected")
	page.evaluate(
		"() => { window.pull_events = []; frappe.realtime.on('event_streaming_pull', (data) => pull_events.push(data)); }"
	)
	clicked = time.monotonic()
	click_action(page, "Actions", "Pull Now")
	message = dialog_text(page)
	assert "Pull Finished" in page.locator(".modal.show .modal-title").first.inner_text()
	assert re.search(r"\d+ changes applied, \d+ failed, \d+ skipped", message), message
	stages = page.evaluate("() => pull_events.map((event) => event.stage)")
	assert stages[-1] == "done" and "progress" in stages, stages
	assert time.monotonic() - clicked < 30
	close_dialogs(page)
	for description in descriptions:
		wait_until(lambda d=description: local_todo(consumer_site, d), message=f"{description} pulled")
	open_form(page, CONSUMER_URL, "Event Producer", PRODUCER_URL)
	# the form's health headline: caught up with the producer
	headline = page.locator(".form-message", has_text="Behind the producer").first
	headline.wait_for(state="visible")
	assert "Behind the producer: 0" in headline.inner_text(), headline.inner_text()
	screenshot(page, "event-producer-form")


def test_failed_changes_resync_from_the_form_and_from_the_list(
	consumer_desk, consumer_site, producer_site, keys, cleanup
):
	"""A ToDo assigned to a Role the consumer lacks fails (Roles are never fetched from a producer);
	the operator creates the Role and resyncs, once from the log's form, once from the list."""
	page = consumer_desk
	roles = [unique("Browser Role") for _ in range(2)]
	todos = []
	for role in roles:
		producer_site.insert({"doctype": "Role", "role_name": role, "desk_access": 1})
		cleanup.append(("Role", role))
		todo = producer_site.insert({"doctype": "ToDo", "description": unique("fails first"), "role": role})
		cleanup.append(("ToDo", todo["name"]))
		todos.append(todo["name"])

	def failed_log(todo: str) -> str | None:
		rows = consumer_site.get_list(
			"Event Sync Log", filters=[["producer_doc", "=", todo], ["status", "=", "Failed"]]
		)
		return rows[0]["name"] if rows else None

	logs = [wait_until(lambda t=todo: failed_log(t), message=f"failed log of {todo}") for todo in todos]

	visit(page, f"{CONSUMER_URL}/app/event-sync-log?status=Failed")
	page.locator(".list-row-container").first.wait_for(state="visible")
	screenshot(page, "event-sync-log-list")

	# from the form
	open_form(page, CONSUMER_URL, "Event Sync Log", logs[0])
	assert roles[0] in field(page, "error").inner_text()
	screenshot(page, "event-sync-log-failed")
	consumer_site.insert({"doctype": "Role", "role_name": roles[0], "desk_access": 1})
	click_action(page, None, "Resync")
	assert "Synced" in toast_text(page)
	wait_until(lambda: not failed_log(todos[0]), message="first log synced")
	assert consumer_site.exists("ToDo", todos[0]) or local_todo(consumer_site, "fails first")

	# from the list: select the failed log, Actions > Resync Selected
	consumer_site.insert({"doctype": "Role", "role_name": roles[1], "desk_access": 1})
	visit(page, f"{CONSUMER_URL}/app/event-sync-log?status=Failed&producer_doc={todos[1]}")
	checkbox = page.locator(f'.list-row-checkbox[data-name="{logs[1]}"]')
	checkbox.wait_for(state="visible")
	checkbox.check()
	page.locator(".page-actions .actions-btn-group .btn", has_text="Actions").first.click()
	page.locator(".dropdown-menu:visible .dropdown-item", has_text="Resync Selected").first.click()
	assert "1 of 1" in toast_text(page)
	wait_until(lambda: not failed_log(todos[1]), message="second log synced")


def test_health_screens(consumer_desk, consumer_site, keys):
	page = consumer_desk
	with page.expect_response(lambda response: "event_streaming_changes" in response.url) as chart_data:
		visit(page, f"{CONSUMER_URL}/app/event-streaming")
	assert chart_data.value.ok
	page.locator(".widget.number-widget-box").first.wait_for(state="visible")
	page.locator(".widget.dashboard-widget-box").first.wait_for(state="visible")
	page.wait_for_timeout(1500)  # the chart animates from zero to its data
	screenshot(page, "workspace")

	# the producers at a glance: status, last pull, lag and error columns
	visit(page, f"{CONSUMER_URL}/app/event-producer")
	row = page.locator(".list-row-container", has_text=PRODUCER_URL.split("//")[1]).first
	row.wait_for(state="visible")
	header = page.locator(".list-row-head").first.inner_text()
	for column in ("Last Pull", "Lag", "Last Pull Error"):
		assert column in header, header
	assert "Pulling" in row.inner_text() or "Pull Failing" in row.inner_text(), row.inner_text()
	screenshot(page, "event-producer-list")

	visit(page, f"{CONSUMER_URL}/app/query-report/Event Streaming Health")
	page.locator(".dt-scrollable .dt-row").first.wait_for(state="visible")
	assert PRODUCER_URL in page.locator(".dt-scrollable").inner_text()
	screenshot(page, "health-report")


class SilentPeer:
	"""Accepts connections and never answers (a hung producer)."""

	def __init__(self):
		self.server = socket.socket()
		self.server.bind(("127.0.0.1", 0))
		self.server.listen(16)
		self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
		self.held = []
		threading.Thread(target=self.accept, daemon=True).start()

	def accept(self):
		while True:
			try:
				connection, _address = self.server.accept()
			except OSError:
				return
			self.held.append(connection)

	def close(self):
		self.server.close()
		for connection in self.held:
			connection.close()


@pytest.mark.parametrize("peer", ["refused", "silent"])
def test_unreachable_producer_shows_a_clear_message_in_time(consumer_desk, consumer_site, keys, peer):
	page = consumer_desk
	silent = SilentPeer() if peer == "silent" else None
	url = silent.url if silent else "http://127.0.0.1:9"
	consumer_site.set_settings(request_timeout=SILENT_PEER_TIMEOUT)
	try:
		open_form(page, CONSUMER_URL, "Event Producer")
		fill(page, "producer_url", url)
		add_grid_row(page, "producer_doctypes", {"ref_doctype": "Note"})
		fill(page, "api_key", "key")
		fill(page, "api_secret", "secret")
		fill(page, "user", "Administrator")
		started = time.monotonic()
		save(page)
		text = dialog_text(page, timeout=(4 * SILENT_PEER_TIMEOUT + 10) * 1000)
		elapsed = time.monotonic() - started
		if silent:
			screenshot(page, "event-producer-unreachable")
		assert "127.0.0.1" in text, text
		assert re.search(r"could not|did not answer|no connection|refused", text, re.IGNORECASE), text
		assert "Traceback" not in text
		# each call to the peer waits at most the configured timeout (registration makes two)
		assert elapsed < 2 * SILENT_PEER_TIMEOUT + 5, f"{elapsed:.1f} s"
		close_dialogs(page)
		assert not consumer_site.exists("Event Producer", url), "nothing is kept after a failed save"
	finally:
		consumer_site.set_settings(request_timeout=30)
		if silent:
			silent.close()
