# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Desk in headless Chromium on the two sites of a bench (scripts/browser_tests.sh sets them up).

Both sites are served by one web server that routes by host name; each test logs in as a user
would, through the login page. The sites are prepared over REST (keys, settings, clean-up), the
way an operator would in another tab, and every check of what happened is made in Desk."""

import io
import json
import mimetypes
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

CONSUMER_URL = os.environ.get("EVENT_STREAMING_CONSUMER_URL", "http://es-consumer.localhost:8000")
PRODUCER_URL = os.environ.get("EVENT_STREAMING_PRODUCER_URL", "http://es-producer.localhost:8000")
PASSWORD = os.environ.get("EVENT_STREAMING_ADMIN_PASSWORD", "admin")
CHROMIUM = os.environ.get("EVENT_STREAMING_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("EVENT_STREAMING_SCREENSHOTS", "")
BENCH = os.environ.get("EVENT_STREAMING_BENCH", "/opt/frappe-bench")
REALTIME_PORT = os.environ.get("EVENT_STREAMING_REALTIME_PORT", "")
# screenshots kept in the repository stay small
MAX_SCREENSHOT_BYTES = 200 * 1024
CHROMIUM_ARGS = [
	"--no-sandbox",
	"--disable-gpu",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
]


class Site:
	"""A site driven over REST as its Administrator (set-up and clean-up, not the checks)."""

	def __init__(self, url: str):
		self.url = url
		self.session = requests.Session()
		reply = self.session.post(
			f"{url}/api/method/login", data={"usr": "Administrator", "pwd": PASSWORD}, timeout=30
		)
		reply.raise_for_status()

	def request(self, verb: str, path: str, **kwargs):
		reply = self.session.request(verb, self.url + path, timeout=60, **kwargs)
		if reply.status_code >= 400:
			raise AssertionError(f"{verb} {path}: {reply.status_code} {reply.text[:500]}")
		body = reply.json()
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
		return self.request(
			"PUT", f"/api/resource/{doctype}/{quote(name)}", data={"data": json.dumps(values)}
		)

	def get_list(self, doctype: str, filters=None, fields=None, limit: int = 100) -> list:
		params = {
			"limit_page_length": limit,
			"filters": json.dumps(filters or []),
			"fields": json.dumps(fields or ["name"]),
		}
		return self.request("GET", f"/api/resource/{doctype}", params=params)

	def exists(self, doctype: str, name: str) -> bool:
		return bool(self.get_list(doctype, filters=[["name", "=", name]]))

	def delete_if_exists(self, doctype: str, name: str) -> None:
		if self.exists(doctype, name):
			self.request("DELETE", f"/api/resource/{doctype}/{quote(name)}")

	def set_settings(self, **values) -> None:
		self.update("Event Streaming Settings", "Event Streaming Settings", values)

	def api_keys(self) -> tuple[str, str]:
		secret = self.call("frappe.core.doctype.user.user.generate_keys", user="Administrator")["api_secret"]
		key = self.call(
			"frappe.client.get_value", doctype="User", filters="Administrator", fieldname="api_key"
		)
		return key["api_key"], secret


def quote(name: str) -> str:
	return requests.utils.quote(name, safe="")


def wait_until(condition, timeout: float = 30, interval: float = 0.5, message: str = "condition"):
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		result = condition()
		if result:
			return result
		time.sleep(interval)
	raise AssertionError(f"timed out after {timeout} s waiting for {message}")


@pytest.fixture(scope="session")
def consumer_site() -> Site:
	return Site(CONSUMER_URL)


@pytest.fixture(scope="session")
def producer_site() -> Site:
	return Site(PRODUCER_URL)


@pytest.fixture(scope="session")
def browser():
	if not os.path.exists(CHROMIUM):
		pytest.skip(f"no Chromium at {CHROMIUM}")
	with sync_api.sync_playwright() as playwright:
		browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
		yield browser
		browser.close()


def serve_assets(route) -> None:
	"""/assets/ from the bench's built assets, as nginx does on a production bench (the bare web
	server of the test scripts serves only the sites)."""
	root = (Path(BENCH) / "sites" / "assets").resolve()
	relative = urlparse(route.request.url).path.removeprefix("/assets/")
	path = (root / relative).resolve()
	# assets/<app> are symlinks into apps/<app>/.../public, so the real path may lie outside root
	if ".." in Path(relative).parts or not path.is_file():
		route.fulfill(status=404, body="not found")
		return
	content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
	route.fulfill(status=200, body=path.read_bytes(), headers={"Content-Type": content_type})


def forward_realtime(route) -> None:
	"""/socket.io/ of the page's origin to Frappe's realtime server, as nginx does in production
	(long polling; the websocket upgrade fails and socket.io stays on polling). The realtime server
	accepts only requests naming its site's own origin, which a same-origin GET does not carry, so
	the request is made here with it."""
	url = urlparse(route.request.url)
	headers = {**route.request.headers, "origin": f"{url.scheme}://{url.netloc}"}
	target = url._replace(netloc=f"{url.hostname}:{REALTIME_PORT}").geturl()
	try:
		route.fulfill(response=route.fetch(url=target, headers=headers, timeout=60_000))
	except sync_api.Error:
		pass  # the page went away during a long poll: nobody waits for the answer


def logged_in_page(browser, site_url: str):
	context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
	context.set_default_timeout(30_000)
	context.route("**/assets/**", serve_assets)
	if REALTIME_PORT:
		context.route("**/socket.io/**", forward_realtime)
	page = context.new_page()
	page.goto(f"{site_url}/login", wait_until="domcontentloaded")
	page.fill("#login_email", "Administrator")
	page.fill("#login_password", PASSWORD)
	page.click(".form-login .btn-login")
	page.wait_for_url("**/app**", wait_until="domcontentloaded")
	return page


@pytest.fixture(scope="session")
def consumer_desk(browser):
	page = logged_in_page(browser, CONSUMER_URL)
	yield page
	page.context.close()


@pytest.fixture(scope="session")
def producer_desk(browser):
	page = logged_in_page(browser, PRODUCER_URL)
	yield page
	page.context.close()


def screenshot(page, name: str) -> None:
	"""Save what the page shows as SCREENSHOTS/name.png (nothing when no directory is given)."""
	if not SCREENSHOTS:
		return
	folder = Path(SCREENSHOTS)
	folder.mkdir(parents=True, exist_ok=True)
	page.mouse.wheel(0, -5000)  # Desk scrolls to the focused field; show the page from its top
	page.evaluate("window.scrollTo(0, 0)")
	page.wait_for_timeout(600)  # let fades and toasts settle
	png = page.screenshot()
	if len(png) > MAX_SCREENSHOT_BYTES:
		png = smaller_png(png)
	(folder / f"{name}.png").write_bytes(png)


def smaller_png(png: bytes) -> bytes:
	"""A palette PNG of the same screen: Desk's flat colours survive 256 colours unharmed."""
	try:
		from PIL import Image
	except ImportError:
		return png
	image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
	out = io.BytesIO()
	image.save(out, format="PNG", optimize=True)
	return out.getvalue()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
	"""A failed test leaves what each browser showed in EVENT_STREAMING_FAILURE_SCREENSHOTS."""
	outcome = yield
	report = outcome.get_result()
	folder = os.environ.get("EVENT_STREAMING_FAILURE_SCREENSHOTS")
	if not (report.failed and folder):
		return
	Path(folder).mkdir(parents=True, exist_ok=True)
	for fixture in ("consumer_desk", "producer_desk"):
		page = getattr(item, "funcargs", {}).get(fixture)
		if page is not None:
			try:
				page.screenshot(path=str(Path(folder) / f"{item.name}-{fixture}.png"))
			except sync_api.Error:
				pass  # the page is gone; the test's own error says why
