# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""A producer we control byte for byte, for tests of what a hostile peer can do to a consumer.

:class:`HostilePeer` is a small HTTP server on 127.0.0.1 (a free port, in a thread of the test
process) that answers the v2 calls a consumer makes (capabilities, registration, feed pages,
acknowledgements, ``get_documents``, REST reads and writes) with whatever a test puts in it: feed
rows of any shape, documents with any fields, error replies with any text. Every request is
recorded (path, form or query values, headers), so a test can also see what the consumer sent.

	with HostilePeer() as peer:
		producer = peer.subscribe([{"ref_doctype": "ToDo"}])  # an Event Producer on this site
		peer.add_log("Create", "ToDo", "T-1", {"description": "hello"})
		pull.pull_now(producer.name)

The Event Producer it creates is removed again, with its sync logs, when the block ends.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import frappe

CAPABILITIES = "event_streaming.api.get_capabilities"
REGISTER = "event_streaming.event_streaming.doctype.event_consumer.event_consumer.register_consumer"
FEED = "event_streaming.api.get_update_log_page"
ACKNOWLEDGE = "event_streaming.api.acknowledge_update_logs"
GET_DOCUMENTS = "event_streaming.api.get_documents"


class Reply:
	"""A raw HTTP answer: status, body (bytes, or a value sent as JSON), content type, other headers."""

	def __init__(
		self,
		status: int = 200,
		body=None,
		content_type: str = "application/json",
		headers: dict | None = None,
	):
		self.status = status
		self.body = body
		self.content_type = content_type
		self.headers = headers or {}

	def encoded(self) -> bytes:
		if isinstance(self.body, bytes):
			return self.body
		return json.dumps(self.body, default=str).encode()


def frappe_error(message: str, status: int = 417, exc_type: str = "ValidationError") -> Reply:
	"""An error as a Frappe site answers it, with ``message`` as its server message."""
	return Reply(
		status,
		{"exc_type": exc_type, "_server_messages": json.dumps([json.dumps({"message": message})])},
	)


class HostilePeer:
	"""The fake producer. ``logs`` is its feed (rows of any shape, served in order, ``page_size`` at a
	time by position); ``documents`` answers get_documents and REST reads by (DocType, name);
	``replies`` overrides the answer of a method (or REST path) with a :class:`Reply` or a callable
	taking the request's values and returning one."""

	def __init__(self, page_size: int = 100):
		self.page_size = page_size
		self.logs: list = []
		self.documents: dict[tuple[str, str], dict] = {}
		self.replies: dict[str, object] = {}
		self.requests: list[dict] = []
		self.acknowledged: list[int] = []
		self.registered: dict = {}
		self.event_producer: str | None = None
		self._lock = threading.Lock()
		self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
		self._server.daemon_threads = True
		self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

	# --- lifecycle ---------------------------------------------------------------------------------

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self._server.server_address[1]}"

	def start(self) -> "HostilePeer":
		self._thread.start()
		return self

	def stop(self) -> None:
		self.unsubscribe()
		self.go_down()

	def go_down(self) -> None:
		"""Stop answering, as a dead site: connections are refused from now on."""
		if self._thread.is_alive():
			self._server.shutdown()
			self._server.server_close()

	def __enter__(self) -> "HostilePeer":
		return self.start()

	def __exit__(self, *exc) -> None:
		self.stop()

	# --- what it serves --------------------------------------------------------------------------

	def add_log(self, update_type, ref_doctype, docname, data=None, **overrides) -> dict:
		"""Append a well-formed feed row (``data`` as JSON text, as producers send it); ``overrides``
		replace any of its keys with anything at all."""
		with self._lock:
			sequence = len(self.logs) + 1
			row = {
				"update_type": update_type,
				"ref_doctype": ref_doctype,
				"docname": docname,
				"data": data if isinstance(data, str) or data is None else json.dumps(data),
				"name": f"hostile-{frappe.generate_hash(length=10)}",
				"creation": str(frappe.utils.now_datetime()),
				"sequence": sequence,
			}
			row.update(overrides)
			self.logs.append(row)
			return row

	def add_raw_log(self, row) -> None:
		"""Append anything as a feed row, exactly as given."""
		with self._lock:
			self.logs.append(row)

	def add_document(self, doctype: str, document: dict) -> dict:
		self.documents[(doctype, document["name"])] = document
		return document

	def requested_documents(self, doctype: str) -> list[str]:
		"""The names the consumer asked for with get_documents for ``doctype``."""
		names = []
		for request in self.requests:
			if request["method"] == GET_DOCUMENTS and request["values"].get("doctype") == doctype:
				names += json.loads(request["values"].get("names") or "[]")
		return names

	# --- an Event Producer on this (the consumer) site ---------------------------------------------

	def subscribe(self, rows: list[dict], user: str = "Administrator", api_secret: str = "hostile-secret"):
		"""Create the Event Producer for this peer; ``rows`` as in its Event Producer Document Types."""
		from event_streaming.tests.utils import ensure_local_api_keys

		ensure_local_api_keys(user)
		doc = frappe.get_doc(
			{
				"doctype": "Event Producer",
				"producer_url": self.url,
				"user": user,
				"api_key": "hostile-key",
				"api_secret": api_secret,
				"producer_doctypes": [{"use_same_name": 1, **row} for row in rows],
			}
		).insert()
		frappe.db.commit()
		self.event_producer = doc.name
		return doc

	def unsubscribe(self) -> None:
		if not self.event_producer:
			return
		frappe.db.rollback()
		if frappe.db.exists("Event Producer", self.event_producer):
			frappe.delete_doc("Event Producer", self.event_producer, force=True, ignore_permissions=True)
		frappe.db.delete("Event Producer Last Update", {"event_producer": self.event_producer})
		frappe.db.delete("Event Sync Log", {"event_producer": self.event_producer})
		frappe.db.commit()
		self.event_producer = None

	# --- answers -----------------------------------------------------------------------------------

	def answer(self, verb: str, path: str, values: dict) -> Reply:
		if path.startswith("/api/method/"):
			key = path[len("/api/method/") :]
		else:
			key = f"{verb} {unquote(path)}"
		override = self.replies.get(key)
		if override is not None:
			return override(values) if callable(override) else override
		if key == CAPABILITIES:
			return Reply(200, {"message": {"protocol": 2, "app_version": "hostile", "features": []}})
		if key == REGISTER:
			return self.register(values)
		if key == FEED:
			return self.feed_page(values)
		if key == ACKNOWLEDGE:
			self.acknowledged.append(int(values.get("cursor") or 0))
			return Reply(200, {"message": int(values.get("cursor") or 0)})
		if key == GET_DOCUMENTS:
			names = json.loads(values.get("names") or "[]")
			doctype = values.get("doctype")
			found = [self.documents[(doctype, name)] for name in names if (doctype, name) in self.documents]
			return Reply(200, {"message": found})
		if path.startswith("/api/resource/"):
			return self.resource(verb, path)
		return frappe_error(f"{key} is not served here", 404, "DoesNotExistError")

	def register(self, values: dict) -> Reply:
		data = json.loads(values.get("data") or "{}")
		self.registered = data
		doctypes = [row["doctype"] for row in json.loads(data.get("consumer_doctypes") or "[]")]
		reply = {
			"last_update": None,
			"last_sequence": 0,
			"protocol": 2,
			"statuses": {doctype: "Approved" for doctype in doctypes},
		}
		return Reply(200, {"message": json.dumps(reply)})

	def feed_page(self, values: dict) -> Reply:
		"""Rows after position ``after`` (1-based positions in ``logs``), ``page_size`` at a time."""
		after = int(values.get("after") or 0)
		with self._lock:
			rows = self.logs[after : after + self.page_size]
			next_cursor = after + len(rows)
			has_more = next_cursor < len(self.logs)
		return Reply(200, {"message": {"logs": rows, "next_cursor": next_cursor, "has_more": has_more}})

	def resource(self, verb: str, path: str) -> Reply:
		parts = [unquote(part) for part in path[len("/api/resource/") :].split("/")]
		if verb == "GET" and len(parts) == 1:
			return Reply(200, {"data": []})
		if len(parts) == 2 and (parts[0], parts[1]) in self.documents:
			return Reply(200, {"data": self.documents[(parts[0], parts[1])]})
		if len(parts) == 2 and parts[0] == "Event Consumer":
			return Reply(200, {"data": {"name": parts[1], "consumer_doctypes": []}})
		return frappe_error(f"{parts[0]} {parts[-1]} not found", 404, "DoesNotExistError")

	def _handler_class(self):
		peer = self

		class Handler(BaseHTTPRequestHandler):
			def handle_any(self, verb: str):
				split = urlsplit(self.path)
				length = int(self.headers.get("Content-Length") or 0)
				body = self.rfile.read(length).decode() if length else ""
				values = {key: items[-1] for key, items in parse_qs(split.query).items()}
				values.update({key: items[-1] for key, items in parse_qs(body).items()})
				peer.requests.append(
					{
						"verb": verb,
						"path": split.path,
						"method": split.path[len("/api/method/") :]
						if split.path.startswith("/api/method/")
						else None,
						"values": values,
						"headers": dict(self.headers),
					}
				)
				try:
					reply = peer.answer(verb, split.path, values)
				except Exception as error:  # a broken test double answers 500, it does not hang
					reply = frappe_error(f"hostile peer failed: {error!r}", 500, "Exception")
				encoded = reply.encoded()
				try:
					self.send_response(reply.status)
					self.send_header("Content-Type", reply.content_type)
					self.send_header("Content-Length", str(len(encoded)))
					for header, value in reply.headers.items():
						self.send_header(header, value)
					self.end_headers()
					self.wfile.write(encoded)
				except (BrokenPipeError, ConnectionResetError):
					pass  # the consumer hung up (on a reply it refuses to read): that is its right

			def do_GET(self):
				self.handle_any("GET")

			def do_POST(self):
				self.handle_any("POST")

			def do_PUT(self):
				self.handle_any("PUT")

			def log_message(self, *args):
				pass  # keep test output clean

		return Handler
