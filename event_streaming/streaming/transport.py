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
from urllib.parse import urlencode, urlsplit

import frappe
import urllib3
from frappe import _

from event_streaming.streaming.redaction import Secret, redact

DEFAULT_TIMEOUT = 30
CONNECT_TIMEOUT = 5
# No retries: a failed call is retried by our own backoff. No redirects: a peer is one origin, and a
# redirect would carry our key and secret (and a registration body) to wherever the peer points.
RETRIES = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=False)
# A feed page of 2,000 large documents stays well below this; a peer sending more is refused
# before it can exhaust the worker's memory.
MAX_REPLY_BYTES = 64 * 1024 * 1024
# how much of a peer's error text is quoted in our own messages
MAX_QUOTED_CHARS = 500
READ_CHUNK_BYTES = 1024 * 1024
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


class PeerNotAllowed(PeerError):
	pass


class PeerUnreachable(PeerError):
	"""No answer at all: refused, unknown host, or silent past the timeout."""


def allowed_peer_hosts() -> set[str]:
	"""Event Streaming Settings > Allowed Peer Hosts: ``host`` or ``host:port`` per line."""
	text = frappe.db.get_single_value("Event Streaming Settings", "allowed_peer_hosts") or ""
	return {line.strip().lower().rstrip("/") for line in text.splitlines() if line.strip()}


def is_allowed_peer(url: str, allowed: set[str]) -> bool:
	"""No allow-list allows every host; ``host`` allows any port of it, ``host:port`` that port."""
	if not allowed:
		return True
	parts = urlsplit(url)
	host = (parts.hostname or "").lower()
	try:
		port = parts.port or (443 if parts.scheme == "https" else 80)
	except ValueError:
		return False
	return host in allowed or f"{host}:{port}" in allowed


def ensure_allowed_peer(url: str) -> None:
	if not is_allowed_peer(url, allowed_peer_hosts()):
		raise PeerNotAllowed(
			_("{0} is not among this site's Allowed Peer Hosts (Event Streaming Settings).").format(url)
		)


def request_timeout() -> tuple[int, int]:
	seconds = frappe.db.get_single_value("Event Streaming Settings", "request_timeout") or DEFAULT_TIMEOUT
	return (min(CONNECT_TIMEOUT, seconds), seconds)


class Peer:
	"""A remote Frappe site reached with an API key and secret."""

	def __init__(self, url: str, api_key: str, api_secret: str, timeout: tuple | None = None):
		self.url = url.rstrip("/")
		ensure_allowed_peer(self.url)
		self.timeout = timeout or request_timeout()
		# a Secret: tracebacks that print this object's or a caller's variables show it masked
		self.authorization = Secret(f"token {api_key}:{api_secret}")
		self.api_secret = Secret(api_secret or "")

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
		headers = {"Authorization": self.authorization, "Accept": "application/json"}
		body = None
		if data is not None:
			# a registration body holds the consumer's secret: keep it masked in any traceback
			body = Secret(urlencode(data))
			headers["Content-Type"] = "application/x-www-form-urlencoded"
		try:
			response = connection_pool().request(
				verb,
				url,
				body=body,
				headers=headers,
				timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]),
				redirect=False,
				preload_content=False,
			)
			try:
				content = read_capped(response, self.url)
			finally:
				response.release_conn()
		except PeerError:
			raise
		except Exception as error:
			# "from None": the frames below (urllib3's) hold the request headers and body
			raise self.failure(getattr(error, "reason", None) or error) from None
		if 300 <= response.status < 400:
			raise PeerError(
				_(
					"{0} answered with a redirect (HTTP {1}). Use the exact address of the site, with https:// if it uses TLS."
				).format(self.url, response.status)
			)
		return unwrap(response.status, content, self.url, url, self.api_secret)

	def failure(self, cause: Exception) -> PeerError:
		# NewConnectionError derives from ConnectTimeoutError in urllib3, so it is asked first
		if isinstance(cause, urllib3.exceptions.NewConnectionError):
			return PeerUnreachable(
				_("Could not reach {0}: {1}").format(
					self.url, _("the connection was refused or the host is unknown")
				)
			)
		if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
			return PeerUnreachable(
				_("Could not reach {0}: no connection within {1} seconds.").format(self.url, self.timeout[0])
			)
		if isinstance(cause, urllib3.exceptions.TimeoutError):
			return PeerUnreachable(
				_("{0} did not answer within {1} seconds.").format(self.url, self.timeout[1])
			)
		return PeerUnreachable(_("Could not reach {0}: {1}").format(self.url, type(cause).__name__))


def read_capped(response, url: str) -> bytes:
	"""The reply body, refused once it passes MAX_REPLY_BYTES."""
	declared = response.headers.get("Content-Length")
	if declared and declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
		raise reply_too_large(url)
	chunks, size = [], 0
	while chunk := response.read(READ_CHUNK_BYTES):
		size += len(chunk)
		if size > MAX_REPLY_BYTES:
			raise reply_too_large(url)
		chunks.append(chunk)
	return b"".join(chunks)


def reply_too_large(url: str) -> "PeerError":
	return PeerError(
		_("{0} sent a reply larger than {1} MB; lower its Feed Page Size.").format(
			url, MAX_REPLY_BYTES // (1024 * 1024)
		)
	)


def unwrap(status: int, data: bytes, url: str, request_url: str, api_secret: str = ""):
	"""Turn a Frappe reply into its ``message`` or ``data``, or a PeerError that says why not.

	The peer's own error text is quoted redacted: a hostile peer may echo our credentials back."""
	try:
		body = json.loads(data)
	except ValueError:
		body = None
	if isinstance(body, dict):
		body = _redacted_messages(body, api_secret)
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


def _redacted_messages(body: dict, api_secret: str) -> dict:
	body = dict(body)
	for key in ("_server_messages", "exception", "exc_type", "exc"):
		if isinstance(body.get(key), str):
			body[key] = redact(body[key], [api_secret])
	return body


def _server_message(body) -> str | None:
	if not isinstance(body, dict):
		return None
	messages = body.get("_server_messages")
	if messages:
		try:
			first = json.loads(json.loads(messages)[0])
			return frappe.utils.strip_html(first.get("message") or "")[:MAX_QUOTED_CHARS]
		except (ValueError, TypeError, IndexError, AttributeError):
			return str(messages)[:MAX_QUOTED_CHARS]
	return str(body.get("exception") or body.get("exc_type") or "")[:MAX_QUOTED_CHARS] or None


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
