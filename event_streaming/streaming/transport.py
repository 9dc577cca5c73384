# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""All HTTP between peers: one connection pool, a timeout on every call, secrets only in headers and
bodies.

The wire format is Frappe's REST API as FrappeClient speaks it (form-encoded bodies, lists and
dicts as JSON text, ``message``/``data`` unwrapping), so original peers understand us. Failures
become :class:`PeerError` with a translated, human message; tracebacks stay in Error Log.

urllib3 rather than requests: every notification and pull runs in a freshly forked job process, and
importing requests (with its character-set detection) cost about 0.2 s of each job's start.
"""

import json
from urllib.parse import urlencode

import frappe
import urllib3
from frappe import _

DEFAULT_TIMEOUT = 30
CONNECT_TIMEOUT = 5
# no retries: a failed call is retried by our own backoff; redirects are followed as requests would
RETRIES = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)
_pool: urllib3.PoolManager | None = None


def connection_pool() -> urllib3.PoolManager:
	"""One pool per process (made after any fork), so calls to the same peer reuse connections."""
	global _pool
	if _pool is None:
		_pool = urllib3.PoolManager(retries=RETRIES)
	return _pool


class PeerError(frappe.ValidationError):
	"""The peer could not be reached or answered something we cannot use."""


class PeerAuthError(PeerError):
	pass


class PeerNotFound(PeerError):
	pass


def request_timeout() -> tuple[int, int]:
	seconds = frappe.db.get_single_value("Event Streaming Settings", "request_timeout") or DEFAULT_TIMEOUT
	return (min(CONNECT_TIMEOUT, seconds), seconds)


class Peer:
	"""A remote Frappe site reached with an API key and secret."""

	def __init__(self, url: str, api_key: str, api_secret: str, timeout: tuple | None = None):
		self.url = url.rstrip("/")
		self.timeout = timeout or request_timeout()
		self.headers = {"Authorization": f"token {api_key}:{api_secret}", "Accept": "application/json"}

	def call(self, method: str, **params):
		"""POST a whitelisted method with its arguments in the body; return ``message``."""
		return self._send("POST", f"/api/method/{method}", data=_encode(params))

	def get_method(self, method: str, **params):
		return self._send("GET", f"/api/method/{method}", params=_encode(params))

	def get_doc(self, doctype: str, name: str) -> dict:
		return self._send("GET", f"/api/resource/{_quote(doctype)}/{_quote(name)}")

	def get_list(self, doctype: str, filters=None, fields=None, limit: int = 20) -> list:
		params = {"limit_page_length": limit}
		if filters is not None:
			params["filters"] = filters
		if fields is not None:
			params["fields"] = fields
		return self._send("GET", f"/api/resource/{_quote(doctype)}", params=_encode(params))

	def update_doc(self, doctype: str, name: str, values: dict) -> dict:
		return self._send(
			"PUT", f"/api/resource/{_quote(doctype)}/{_quote(name)}", data={"data": frappe.as_json(values)}
		)

	def _send(self, verb: str, path: str, params: dict | None = None, data: dict | None = None):
		url = self.url + path + (f"?{urlencode(params)}" if params else "")
		headers = dict(self.headers)
		body = None
		if data is not None:
			body = urlencode(data)
			headers["Content-Type"] = "application/x-www-form-urlencoded"
		try:
			response = connection_pool().request(
				verb,
				url,
				body=body,
				headers=headers,
				timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]),
			)
		except urllib3.exceptions.HTTPError as error:
			raise self.failure(getattr(error, "reason", None) or error) from error
		return unwrap(response.status, response.data, self.url, url)

	def failure(self, cause: Exception) -> PeerError:
		# NewConnectionError derives from ConnectTimeoutError in urllib3, so it is asked first
		if isinstance(cause, urllib3.exceptions.NewConnectionError):
			return PeerError(
				_("Could not reach {0}: {1}").format(
					self.url, _("the connection was refused or the host is unknown")
				)
			)
		if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
			return PeerError(
				_("Could not reach {0}: no connection within {1} seconds.").format(self.url, self.timeout[0])
			)
		if isinstance(cause, urllib3.exceptions.TimeoutError):
			return PeerError(_("{0} did not answer within {1} seconds.").format(self.url, self.timeout[1]))
		return PeerError(_("Could not reach {0}: {1}").format(self.url, type(cause).__name__))


def unwrap(status: int, data: bytes, url: str, request_url: str):
	"""Turn a Frappe reply into its ``message`` or ``data``, or a PeerError that says why not."""
	try:
		body = json.loads(data)
	except ValueError:
		body = None
	if status in (401, 403):
		raise PeerAuthError(
			_("{0} refused the API key and secret, or the user lacks permission ({1}).").format(
				url, _server_message(body) or status
			)
		)
	if status == 404:
		raise PeerNotFound(
			_("{0} has no such document or method: {1}").format(url, _server_message(body) or request_url)
		)
	if status >= 400 or (isinstance(body, dict) and body.get("exc")):
		raise PeerError(
			_("{0} answered with an error ({1}): {2}").format(
				url, status, _server_message(body) or _("no details")
			)
		)
	if not isinstance(body, dict):
		raise PeerError(_("{0} did not answer with JSON; is it a Frappe site?").format(url))
	if "message" in body:
		return body["message"]
	return body.get("data")


def _server_message(body) -> str | None:
	if not isinstance(body, dict):
		return None
	messages = body.get("_server_messages")
	if messages:
		try:
			first = json.loads(json.loads(messages)[0])
			return frappe.utils.strip_html(first.get("message") or "")
		except (ValueError, TypeError, IndexError, AttributeError):
			return str(messages)[:300]
	return body.get("exception") or body.get("exc_type")


def _encode(params: dict) -> dict:
	return {
		key: (json.dumps(value, default=str) if isinstance(value, dict | list | tuple) else value)
		for key, value in params.items()
		if value is not None
	}


def _quote(part: str) -> str:
	from urllib.parse import quote

	return quote(str(part), safe="")


def producer_peer(event_producer) -> Peer:
	"""The producer as seen from this (consumer) site, with the stored producer-side keys."""
	doc = _as_doc("Event Producer", event_producer)
	return Peer(doc.producer_url, doc.api_key, doc.get_password("api_secret"))


def consumer_peer(event_consumer) -> Peer:
	"""The consumer as seen from this (producer) site, with the stored consumer-side keys."""
	doc = _as_doc("Event Consumer", event_consumer)
	return Peer(doc.callback_url, doc.api_key, doc.get_password("api_secret"))


def _as_doc(doctype: str, value):
	return value if not isinstance(value, str) else frappe.get_doc(doctype, value)
