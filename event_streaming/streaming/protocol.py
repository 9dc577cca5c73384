# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""A producer's protocol, asked again now and then, and the switch from v1 to v2.

An Event Producer created by the original app (blank protocol, set to v1 on upgrade), or registered
while its producer still ran the original, reads the v1 feed by timestamp. Once the producer is
upgraded it speaks v2. So at the start of a pull, at most every ``RECHECK_SECONDS``, a v1 Event
Producer asks again; on v2 it switches from its v1 watermark: the producer names the sequence after
which every log later than the watermark (less the overlap window, never below the original's
watermark) is served. Logs this app applied through v1 inside the overlap are known by name in
the Event Sync Log and skipped, so nothing is lost and nothing applied twice.
"""

import frappe
from frappe import _
from frappe.query_builder.functions import Max, Min
from frappe.utils import get_url

from event_streaming.streaming import cursor, payload, registration, transport

RECHECK_SECONDS = 300
SEQUENCE_AT_METHOD = "event_streaming.api.get_sequence_at"


def protocol_check_key(event_producer: str) -> str:
	return f"event_streaming::protocol_checked::{event_producer}"


# --- consumer side -------------------------------------------------------------------------


def refresh_protocol(producer, peer, position) -> bool:
	"""Switch a v1 Event Producer to v2 if its producer speaks v2 now; True if it switched.
	``position`` is its Event Producer Last Update (name, last_update, original_watermark)."""
	if producer.protocol_version == "v2":
		return False
	key = protocol_check_key(producer.name)
	if frappe.cache.get_value(key):
		return False
	frappe.cache.set_value(key, 1, expires_in_sec=RECHECK_SECONDS)
	if registration.detect_protocol(peer) != "v2":
		return False
	since = cursor.v1_request_watermark(position.last_update, position.get("original_watermark"))
	reply = peer.call(SEQUENCE_AT_METHOD, event_consumer=get_url(), since=since)
	try:
		start = payload.check_sequence(reply, "the producer's sequence at our watermark")
	except payload.PayloadError as error:
		raise transport.PeerError(_("The producer sent an invalid feed position: {0}").format(str(error)))
	frappe.db.set_value(
		"Event Producer Last Update", position.name, "last_sequence", start, update_modified=False
	)
	frappe.db.set_value("Event Producer", producer.name, "protocol_version", "v2", update_modified=False)
	frappe.db.commit()  # nosemgrep: the switch and its cursor are kept together, before any page is read
	producer.protocol_version = "v2"
	return True


# --- producer side -------------------------------------------------------------------------


def sequence_at(consumer, since: str | None) -> int:
	"""The v2 cursor for a consumer that read the v1 feed up to ``since``: every log created after
	``since`` (or after the consumer registered) has a higher sequence. Logs behind it that
	committed late are numbered later still, so they are served too."""
	from event_streaming.streaming import feed

	moment = cursor.parse_timestamp(since) if since else None
	if since and moment is None:
		frappe.throw(_("Invalid request: since must be a date and time."), exc=feed.InvalidRequest)
	feed.assign_sequences()
	log = frappe.qb.DocType("Event Update Log")
	first = (
		frappe.qb.from_(log)
		.select(Min(log.sequence))
		.where(log.sequence > 0)
		.where(log.creation > max(filter(None, [moment, consumer.creation])))
		.run()[0][0]
	)
	if first:
		return int(first) - 1
	return int(frappe.qb.from_(log).select(Max(log.sequence)).run()[0][0] or 0)
