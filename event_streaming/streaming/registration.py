# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Registration, configuration pushes and approval mirroring between the two sites.

Consumer side: an Event Producer registers itself on the producer (idempotently, so a failed
attempt can simply be saved again), and pushes later edits of its subscriptions. Producer side:
``register_consumer`` creates or refreshes the Event Consumer, and approvals are mirrored back.
A push to a peer that is down is kept and retried every minute instead of failing the save.
"""

import json

import frappe
from frappe import _
from frappe.utils import get_url

from event_streaming.streaming import capture, conditions, feed, jobs, payload, transport, trust
from event_streaming.streaming.redaction import Secret

PROTOCOL_VERSION = 2
# least-privilege role for consumers' users on a producer: register, and read and write (only)
# the Event Consumers they own
SUBSCRIBER_ROLE = "Event Streaming Subscriber"
RETRY_SET = "event_streaming::retry_push"
CAPABILITIES_METHOD = "event_streaming.api.get_capabilities"
REGISTER_METHOD = "event_streaming.event_streaming.doctype.event_consumer.event_consumer.register_consumer"
RECEIVE_STATUSES_METHOD = "event_streaming.api.receive_statuses"
STATUSES = ("Pending", "Approved", "Rejected")


class RegistrationError(frappe.ValidationError):
	pass


# --- producer side -------------------------------------------------------------------------


def capabilities() -> dict:
	from event_streaming import __version__

	return {
		"protocol": PROTOCOL_VERSION,
		"app_version": __version__,
		"features": [
			"feed_v2",
			"acknowledge",
			"rename",
			"get_documents",
			"conditions_hook",
			"sequence_at",
			"initial_sync",
			"receive_statuses",
		],
	}


def register_consumer(data) -> str:
	"""Create or refresh the Event Consumer described by ``data``; reply with where to start.

	Only a user who may create Event Consumers (System Manager, or the Event Streaming Subscriber
	role) registers, and only as themselves; a System Manager may name any existing user. An
	existing consumer is refreshed only by its own user or a System Manager, never taken over.
	"""
	check_may_register()
	try:
		request = payload.parse_registration(data)
	except payload.PayloadError as error:
		frappe.throw(_("Invalid registration request: {0}").format(str(error)), exc=RegistrationError)

	name = check_callback_url(request["event_consumer"])
	if not frappe.db.exists("User", request["user"]):
		frappe.throw(
			_("User {0} does not exist on this site; create it before subscribing.").format(
				frappe.bold(request["user"])
			),
			exc=RegistrationError,
		)
	system_manager = is_system_manager()
	if request["user"] != frappe.session.user and not system_manager:
		frappe.throw(
			_("You can register a consumer only with yourself ({0}) as its Event Subscriber.").format(
				frappe.bold(frappe.session.user)
			),
			frappe.PermissionError,
		)
	registered_user = frappe.db.get_value("Event Consumer", name, "user")
	if registered_user and registered_user != frappe.session.user and not system_manager:
		frappe.throw(
			_(
				"{0} is already registered by another user. Only that user or a System Manager of this "
				"site may register it again."
			).format(frappe.bold(name)),
			frappe.PermissionError,
		)
	for row in request["consumer_doctypes"]:
		check_streamable(row["doctype"])
		conditions.validate_condition(row["condition"])

	try:
		return save_consumer(name, request, registered_user)
	except (frappe.ValidationError, frappe.PermissionError):
		raise  # a refusal that says why
	except Exception:
		# Frappe would log a server error with every local variable, the caller's secret among
		# them: log it without variables instead, and answer with a refusal that names no secret
		frappe.db.rollback()
		jobs.log_failure(_("Event Streaming: could not register {0}").format(name), "Event Consumer", name)
		frappe.db.commit()  # nosemgrep: the Error Log of a registration whose work was rolled back
		frappe.throw(
			_("This site could not register {0}; its System Manager finds why in the Error Log.").format(
				name
			),
			exc=RegistrationError,
		)


def save_consumer(name: str, request: dict, registered_user: str | None) -> str:
	"""Create or refresh the checked registration's Event Consumer; reply with where to start."""
	position = feed.latest_position()
	if registered_user:
		consumer = frappe.get_doc("Event Consumer", name)
	else:
		consumer = frappe.new_doc("Event Consumer")
		consumer.callback_url = name
	consumer.user = request["user"]
	consumer.api_key = request["api_key"]
	consumer.api_secret = request["api_secret"]
	set_requested_rows(consumer, request["consumer_doctypes"])
	consumer.incoming_change = 1
	consumer.flags.registration = True
	consumer.save(ignore_permissions=True)
	if consumer.owner != consumer.user:
		# Subscribers read and write only the consumers they own (if_owner): the registered user
		# owns it, also when a System Manager registered it for them
		frappe.db.set_value("Event Consumer", consumer.name, "owner", consumer.user, update_modified=False)

	position["protocol"] = PROTOCOL_VERSION
	position["statuses"] = {row.ref_doctype: row.status for row in consumer.consumer_doctypes}
	return json.dumps(position)


def is_system_manager(user: str | None = None) -> bool:
	return "System Manager" in frappe.get_roles(user or frappe.session.user)


def check_may_register() -> None:
	"""Registering creates an Event Consumer: the caller needs that right (403 otherwise)."""
	if frappe.session.user == "Guest" or not frappe.has_permission("Event Consumer", "create"):
		frappe.throw(
			_(
				"You are not allowed to subscribe to this site. Ask its System Manager for the {0} role."
			).format(frappe.bold(SUBSCRIBER_ROLE)),
			frappe.PermissionError,
			title=_("Not Permitted"),
		)


def check_callback_url(url: str) -> str:
	"""A consumer's address: an http(s) origin, on the Allowed Peer Hosts when that is set."""
	try:
		url = payload.normalise_site_url(url)
	except payload.PayloadError as error:
		frappe.throw(
			_("The consumer's URL must be a site address such as https://branch.example.com: {0}").format(
				str(error)
			),
			exc=RegistrationError,
		)
	transport.ensure_allowed_peer(url)
	return url


def check_streamable(doctype: str) -> None:
	if not doctype or not frappe.db.exists("DocType", doctype) or not capture.is_streamable(doctype):
		frappe.throw(
			_("{0} cannot be streamed from this site.").format(frappe.bold(doctype)),
			exc=RegistrationError,
		)


def set_requested_rows(consumer, requested: list[dict], unsubscribed: dict | None = None) -> None:
	"""Replace the consumer's rows, keeping the approval of rows whose condition is unchanged."""
	previous = {row.ref_doctype: row for row in consumer.get("consumer_doctypes") or []}
	consumer.set("consumer_doctypes", [])
	for row in requested:
		before = previous.get(row["doctype"])
		keep_status = before is not None and (before.condition or None) == (row.get("condition") or None)
		consumer.append(
			"consumer_doctypes",
			{
				"ref_doctype": row["doctype"],
				"condition": row.get("condition"),
				"status": before.status if keep_status else "Pending",
				"unsubscribed": int(bool((unsubscribed or {}).get(row["doctype"]))),
			},
		)


def auto_approves(consumer_url: str, doctype: str) -> bool:
	settings = frappe.get_cached_doc("Event Streaming Settings")
	if not settings.auto_approve or trust.is_privileged(doctype) or doctype == "User":
		# privilege-bearing DocTypes, and the users who could log in, are only approved by a person
		return False
	urls = _lines(settings.auto_approve_consumers)
	doctypes = _lines(settings.auto_approve_doctypes)
	return (not urls or consumer_url in urls) and (not doctypes or doctype in doctypes)


def mirror_status_to_consumer(consumer_name: str) -> None:
	"""Write this producer's approval statuses into the consumer's Event Producer: through the one
	narrow method a consumer running this app offers its Event Subscriber, or, for one running the
	original, by writing the document over REST as the original does (which needs the Event
	Subscriber to have write access to Event Producer there)."""
	consumer = frappe.get_doc("Event Consumer", consumer_name)
	peer = transport.consumer_peer(consumer)
	statuses = {row.ref_doctype: row.status for row in consumer.consumer_doctypes}
	if "receive_statuses" in peer_features(peer):
		peer.call(RECEIVE_STATUSES_METHOD, producer_url=get_url(), statuses=statuses)
		return
	producer = peer.get_doc("Event Producer", get_url())
	for row in producer.get("producer_doctypes") or []:
		remote_doctype = row["ref_doctype"]
		if row.get("has_mapping") and row.get("mapping"):
			remote_doctype = peer.get_method(
				"frappe.client.get_value",
				doctype="Document Type Mapping",
				fieldname="remote_doctype",
				filters=row["mapping"],
			)["remote_doctype"]
		if remote_doctype in statuses:
			row["status"] = statuses[remote_doctype]
	producer["incoming_change"] = 1
	producer.pop("api_secret", None)
	peer.update_doc("Event Producer", get_url(), producer)


def peer_capabilities(peer) -> dict:
	"""What a peer running this app answers to get_capabilities; {} from one running the original
	(which has no such method). A peer that cannot be reached or refuses our keys raises: the
	caller tells the user, or tries again later."""
	try:
		info = peer.get_method(CAPABILITIES_METHOD)
	except (transport.PeerAuthError, transport.PeerUnreachable):
		raise
	except transport.PeerError:
		return {}
	return info if isinstance(info, dict) else {}


def peer_features(peer) -> list[str]:
	features = peer_capabilities(peer).get("features")
	return [feature for feature in features if isinstance(feature, str)] if isinstance(features, list) else []


# --- consumer side -------------------------------------------------------------------------


def get_producer_for_caller(producer_url: str):
	"""The Event Producer ``producer_url`` if the caller is its Event Subscriber (the user whose
	keys this site gave that producer); the same refusal for any other caller or URL, so that
	nobody learns which producers this site has."""
	user = frappe.db.get_value("Event Producer", producer_url, "user") if producer_url else None
	if not user or user != frappe.session.user:
		frappe.throw(
			_("Only the Event Subscriber of this Event Producer may send its approvals."),
			frappe.PermissionError,
		)
	return frappe.get_doc("Event Producer", producer_url)


def parse_statuses(value) -> dict[str, str]:
	"""``{remote DocType: Pending | Approved | Rejected}``, given as a dict or its JSON text."""
	statuses = payload.parse_json(value, "statuses") if isinstance(value, str | bytes) else value
	if not isinstance(statuses, dict) or len(statuses) > 1000:
		frappe.throw(_("Statuses must be an object of DocType names and statuses."))
	for doctype, status in statuses.items():
		if not isinstance(doctype, str) or status not in STATUSES:
			frappe.throw(
				_("Statuses must be an object of DocType names and statuses ({0}).").format(
					", ".join(STATUSES)
				)
			)
	return statuses


def receive_statuses(event_producer, statuses: dict[str, str]) -> list[str]:
	"""The producer's approval decisions for this site's subscriptions: set on the rows they name,
	saved as an incoming change (nothing pushed back; newly approved DocTypes may start an initial
	sync). Returns the remote DocTypes whose status changed."""
	changed = []
	for row in event_producer.producer_doctypes:
		remote = remote_doctype_of(row)
		status = statuses.get(remote)
		if status and row.status != status:
			row.status = status
			changed.append(remote)
	if changed:
		event_producer.incoming_change = 1
		event_producer.save(ignore_permissions=True)
	return changed


def subscription_rows(event_producer) -> list[dict]:
	"""The doctypes as the producer knows them (mapped rows name the remote DocType)."""
	rows = []
	for row in event_producer.producer_doctypes:
		rows.append(
			{
				"doctype": remote_doctype_of(row),
				"condition": row.condition or None,
				"unsubscribed": int(row.unsubscribe or 0),
				"local_doctype": row.ref_doctype,
			}
		)
	return rows


def remote_doctype_of(row) -> str:
	if row.has_mapping and row.mapping:
		return frappe.db.get_value("Document Type Mapping", row.mapping, "remote_doctype")
	return row.ref_doctype


def detect_protocol(peer) -> str:
	# a peer that does not answer raises: registering next would wait as long again, so the form
	# hears it now
	return "v2" if int(peer_capabilities(peer).get("protocol") or 1) >= 2 else "v1"


def register_on_producer(event_producer) -> dict:
	"""Register this site on the producer; return its reply (cursor positions and statuses)."""
	peer = transport.producer_peer(event_producer)
	event_producer.protocol_version = detect_protocol(peer)
	subscriber = frappe.get_doc("User", event_producer.user)
	data = payload.build_registration(
		get_url(),
		subscription_rows(event_producer),
		event_producer.user,
		subscriber.api_key,
		Secret(subscriber.get_password("api_secret")),
	)
	reply = peer.call(REGISTER_METHOD, data=Secret(json.dumps(data)))
	if not reply:
		frappe.throw(
			_(
				"{0} did not accept the subscription: it may already be registered by an older version."
			).format(event_producer.producer_url),
			exc=RegistrationError,
		)
	try:
		return payload.parse_json(reply, "the registration reply")
	except payload.PayloadError as error:
		frappe.throw(
			_("The producer answered the registration with garbage: {0}").format(
				frappe.utils.escape_html(str(error))
			)
		)


def push_subscriptions(event_producer_name: str) -> None:
	"""Send the consumer's current subscriptions to the producer's Event Consumer."""
	event_producer = frappe.get_doc("Event Producer", event_producer_name)
	peer = transport.producer_peer(event_producer)
	remote = peer.get_doc("Event Consumer", get_url())
	statuses = {row["ref_doctype"]: row.get("status") for row in remote.get("consumer_doctypes") or []}
	remote["consumer_doctypes"] = [
		{
			"ref_doctype": row["doctype"],
			"status": statuses.get(row["doctype"]) or "Pending",
			"unsubscribed": row["unsubscribed"],
			"condition": row["condition"],
		}
		for row in subscription_rows(event_producer)
	]
	remote["user"] = event_producer.user
	remote["incoming_change"] = 1
	remote.pop("api_secret", None)
	peer.update_doc("Event Consumer", get_url(), remote)


# --- pushes that survive a peer being down -------------------------------------------------

PUSHES = {
	"subscriptions": push_subscriptions,
	"status": mirror_status_to_consumer,
}


def push_now_or_later(kind: str, name: str) -> bool:
	"""Try a push now; if the peer is unreachable keep it for the retry job. True if it went."""
	try:
		PUSHES[kind](name)
	except transport.PeerError as error:
		frappe.cache.sadd(RETRY_SET, json.dumps([kind, name]))
		frappe.msgprint(
			_(
				"Could not reach the other site ({0}). The change is saved here and will be sent automatically."
			).format(frappe.utils.escape_html(str(error))),  # the peer's words, shown as text
			indicator="orange",
			alert=True,
		)
		return False
	frappe.cache.srem(RETRY_SET, json.dumps([kind, name]))
	return True


def retry_pushes() -> None:
	"""Scheduler: retry pushes that failed because a peer was down."""
	for member in frappe.cache.smembers(RETRY_SET):
		kind, name = json.loads(member)
		doctype = "Event Producer" if kind == "subscriptions" else "Event Consumer"
		if kind not in PUSHES or not frappe.db.exists(doctype, name):
			frappe.cache.srem(RETRY_SET, member)
			continue
		try:
			PUSHES[kind](name)
		except transport.PeerError:
			continue
		except Exception:
			frappe.log_error(title=_("Event Streaming: could not push {0} of {1}").format(kind, name))
		frappe.cache.srem(RETRY_SET, member)


def _lines(text: str | None) -> set[str]:
	return {line.strip().rstrip("/") for line in (text or "").splitlines() if line.strip()}
