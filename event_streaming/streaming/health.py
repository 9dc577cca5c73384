# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Health of every stream, and alerts for what needs an operator (both sides).

Consumer side, per producer: how many logs the producer still holds for us (one cheap call to a v2
producer), how old the oldest unapplied change is, failed changes, the last pull and its error.
Producer side, per consumer: its acknowledged position, the backlog after it, the last notification
and the failures since. The health report, the workspace, the forms and the alerts all read these.

Alerts go to every System Manager as a Notification Log, and by email where the site has an outgoing
email account and the user's notification settings allow, once per incident: once per
change still Failed after its automatic retries, and once per outage of a peer that fails longer
than the configured time. An outage's start and whether it was announced are kept in the database
(defaults), so neither a retry nor a cache flush repeats an alert; the peer's recovery ends it.
"""

import hashlib
import json

import frappe
from frappe import _
from frappe.desk.doctype.notification_settings.notification_settings import (
	is_email_notifications_enabled,
)
from frappe.query_builder.functions import Count, Max, Min
from frappe.utils import escape_html, get_datetime, get_url, get_url_to_form, now_datetime, strip_html

from event_streaming.streaming import feed, jobs, transport
from event_streaming.streaming.redaction import redact

FEED_STATUS_METHOD = "event_streaming.api.get_feed_status"
# a health view waits at most this long for a producer (the pull itself uses the full timeout)
HEALTH_TIMEOUT = (3, 5)
# alerts for failed changes written per scheduler run; the rest follow a minute later
MAX_FAILURE_ALERTS_PER_RUN = 20
DEFAULT_UNREACHABLE_MINUTES = 60

OK = "OK"
BEHIND = "Behind"
FAILING = "Failed Changes"
UNREACHABLE = "Unreachable"
AWAITING_APPROVAL = "Awaiting Approval"


# --- producer side ---------------------------------------------------------------------------


def feed_status(consumer, after: int | None = None) -> dict:
	"""What a consumer still has to receive after ``after`` (default: its acknowledged position):
	the newest sequence, how many subscribed logs follow and how old the oldest is, in seconds.
	Logs not numbered yet count as pending; a condition may still hold some of them back."""
	acknowledged = int(consumer.last_acked_sequence or 0)
	after = acknowledged if after is None else feed.sequence_argument(after, "after")
	log = frappe.qb.DocType("Event Update Log")
	head = frappe.qb.from_(log).select(Max(log.sequence)).run()[0][0] or 0
	pending, oldest = 0, None
	subscribed = feed.subscriptions(consumer)
	if subscribed:
		pending, oldest = (
			frappe.qb.from_(log)
			.select(Count(log.name), Min(log.creation))
			.where((log.sequence > after) | (log.sequence == 0))
			.where(log.ref_doctype.isin(list(subscribed)))
			.where(log.origin_site.isnull() | (log.origin_site != consumer.callback_url))
			.run()[0]
		)
	return {
		"head": int(head),
		"acknowledged": acknowledged,
		"pending": int(pending or 0),
		"oldest_pending_seconds": age_in_seconds(oldest),
	}


def consumer_health(consumer) -> dict:
	"""One consumer of this site, as the health report and the Event Consumer form show it.
	The backlog is known once the consumer acknowledged something (original consumers never do)."""
	consumer = consumer if not isinstance(consumer, str) else frappe.get_doc("Event Consumer", consumer)
	status = feed_status(consumer)
	acknowledged = status["acknowledged"] or None
	backlog = status["pending"] if acknowledged else None
	if consumer.notify_failures:
		state = UNREACHABLE
	elif any(row.status == "Pending" and not row.unsubscribed for row in consumer.consumer_doctypes):
		state = AWAITING_APPROVAL
	elif backlog:
		state = BEHIND
	else:
		state = OK
	return {
		"side": "Producer",
		"peer": consumer.name,
		"status": state,
		"position": acknowledged,
		"head": status["head"],
		"behind": backlog,
		"oldest_unapplied_seconds": status["oldest_pending_seconds"] if backlog else None,
		"failed": int(consumer.notify_failures or 0),
		"last_contact": consumer.last_notified_at,
		"last_error": consumer.last_notify_error,
	}


# --- consumer side ---------------------------------------------------------------------------


def producer_health(event_producer, ask_producer: bool = True) -> dict:
	"""One producer of this site, as the health report and the Event Producer form show it.
	A v2 producer is asked (briefly) how much it still holds for us; an original one cannot say."""
	producer = (
		event_producer
		if not isinstance(event_producer, str)
		else frappe.get_doc("Event Producer", event_producer)
	)
	position = frappe.db.get_value(
		"Event Producer Last Update", {"event_producer": producer.name}, "last_sequence"
	)
	failed, oldest_failed = failed_changes(producer.name)
	remote, remote_error = None, None
	if ask_producer and producer.protocol_version == "v2":
		remote, remote_error = ask_feed_status(producer, int(position or 0))
	behind = remote["pending"] if remote else None
	ages = [age_in_seconds(oldest_failed), remote["oldest_pending_seconds"] if remote else None]
	ages = [age for age in ages if age is not None]
	# the pull decides whether the producer is reachable; a failed status call only leaves the
	# numbers unknown (and says why)
	if producer.last_pull_error:
		state = UNREACHABLE
	elif failed:
		state = FAILING
	elif behind:
		state = BEHIND
	else:
		state = OK
	return {
		"side": "Consumer",
		"peer": producer.name,
		"status": state,
		"position": int(position or 0) or None,
		"head": remote["head"] if remote else None,
		"behind": behind,
		"oldest_unapplied_seconds": max(ages) if ages else None,
		"failed": int(failed or 0),
		"last_contact": producer.last_pull_at,
		"last_error": producer.last_pull_error or remote_error,
	}


def failed_changes(event_producer: str) -> tuple[int, object]:
	"""How many changes of the producer failed here, and when the oldest of them was tried."""
	log = frappe.qb.DocType("Event Sync Log")
	count, oldest = (
		frappe.qb.from_(log)
		.select(Count(log.name), Min(log.creation))
		.where(log.event_producer == event_producer)
		.where(log.status == "Failed")
		.run()[0]
	)
	return int(count or 0), oldest


def failed_changes_age(event_producer: str) -> int | None:
	"""Seconds the oldest failed change of the producer has been waiting, None if none failed."""
	return age_in_seconds(failed_changes(event_producer)[1])


def ask_feed_status(producer, after: int) -> tuple[dict | None, str | None]:
	"""The producer's feed status for this site after ``after``, or why it could not be had."""
	peer = transport.producer_peer(producer)
	peer.timeout = tuple(min(mine, cap) for mine, cap in zip(peer.timeout, HEALTH_TIMEOUT, strict=True))
	try:
		reply = peer.call(FEED_STATUS_METHOD, event_consumer=get_url(), after=after)
	except transport.PeerNotFound:
		return None, None  # a producer without this call (older version): nothing to show
	except transport.PeerError as error:
		return None, redact(str(error), jobs.known_secrets())
	if not isinstance(reply, dict) or not all(
		isinstance(reply.get(key), int) and not isinstance(reply.get(key), bool)
		for key in ("head", "pending")
	):
		return None, _("The producer sent an invalid feed status.")
	oldest = reply.get("oldest_pending_seconds")
	return {
		"head": reply["head"],
		"pending": max(reply["pending"], 0),
		"oldest_pending_seconds": oldest if isinstance(oldest, int) and oldest >= 0 else None,
	}, None


# --- both ------------------------------------------------------------------------------------


def all_peers(ask_producers: bool = True) -> list[dict]:
	"""Every producer this site follows and every consumer that follows it."""
	rows = [
		producer_health(name, ask_producers)
		for name in frappe.get_all("Event Producer", pluck="name", order_by="name")
	]
	rows += [
		consumer_health(name) for name in frappe.get_all("Event Consumer", pluck="name", order_by="name")
	]
	return rows


def summary_html(row: dict) -> str:
	"""A few lines for a form's intro; every peer-supplied text is escaped."""
	colour = {OK: "green", BEHIND: "orange", AWAITING_APPROVAL: "orange"}.get(row["status"], "red")
	parts = [f'<span class="indicator-pill {colour}">{escape_html(_(row["status"]))}</span>']
	if row["side"] == "Consumer":
		facts = [
			(_("Behind the producer"), row["behind"]),
			(_("Oldest unapplied change"), format_age(row["oldest_unapplied_seconds"])),
			(_("Failed changes"), row["failed"]),
			(_("Last pull"), format_moment(row["last_contact"])),
		]
	else:
		facts = [
			(_("Acknowledged up to"), row["position"]),
			(_("Backlog"), row["behind"]),
			(_("Last notification"), format_moment(row["last_contact"])),
			(_("Failed notifications"), row["failed"]),
		]
	for label, value in facts:
		shown = "–" if value in (None, "") else str(value)
		parts.append(f"{escape_html(label)}: <b>{escape_html(shown)}</b>")
	html = " &nbsp;·&nbsp; ".join(parts)
	if row["last_error"]:
		html += "<br>" + escape_html(_("Last error: {0}").format(row["last_error"][:300]))
	return html


def age_in_seconds(moment, now=None) -> int | None:
	if not moment:
		return None
	return max(int(((now or now_datetime()) - get_datetime(moment)).total_seconds()), 0)


def format_moment(moment) -> str | None:
	return frappe.utils.format_datetime(moment) if moment else None


def format_age(seconds: int | None) -> str | None:
	if seconds is None:
		return None
	if seconds < 120:
		return _("{0} s").format(seconds)
	if seconds < 2 * 3600:
		return _("{0} min").format(seconds // 60)
	if seconds < 2 * 86400:
		return _("{0} h").format(seconds // 3600)
	return _("{0} days").format(seconds // 86400)


# --- alerts ----------------------------------------------------------------------------------


def check_alerts(now=None) -> None:
	"""Scheduler: alert System Managers about changes that exhausted their retries and about peers
	unreachable for too long, once per incident."""
	now = get_datetime(now) if now else now_datetime()
	alert_exhausted_failures()
	alert_unreachable_peers(now)


def alert_exhausted_failures() -> None:
	max_retries = frappe.db.get_single_value("Event Streaming Settings", "max_retries") or 0
	log = frappe.qb.DocType("Event Sync Log")
	notification = frappe.qb.DocType("Notification Log")
	already_alerted = (
		frappe.qb.from_(notification)
		.select(notification.document_name)
		.where(notification.document_type == "Event Sync Log")
	)
	exhausted = (
		frappe.qb.from_(log)
		.select(log.name, log.event_producer, log.ref_doctype, log.producer_doc, log.error)
		.where(log.status == "Failed")
		.where(log.retry_count >= max_retries)
		.where(log.name.notin(already_alerted))
		.orderby(log.creation)
		.limit(MAX_FAILURE_ALERTS_PER_RUN)
		.run(as_dict=True)
	)
	for entry in exhausted:
		notify_system_managers(
			_("A change of {0} {1} from {2} still fails after its automatic retries").format(
				entry.ref_doctype, entry.producer_doc, entry.event_producer
			),
			_("Open the Event Sync Log, fix the cause and press Resync. Error: {0}").format(
				error_summary(entry.error)
			),
			"Event Sync Log",
			entry.name,
		)
		frappe.db.commit()  # nosemgrep: each alert is sent once, whatever happens to the next one


def alert_unreachable_peers(now) -> None:
	minutes = unreachable_alert_minutes()
	peers = [
		("Event Producer", row.name, row.last_pull_error, row.last_pull_at)
		for row in frappe.get_all("Event Producer", fields=["name", "last_pull_error", "last_pull_at"])
	]
	peers += [
		("Event Consumer", row.name, row.last_notify_error if row.notify_failures else None, None)
		for row in frappe.get_all("Event Consumer", fields=["name", "notify_failures", "last_notify_error"])
	]
	for doctype, name, error, failed_at in peers:
		key = outage_key(doctype, name)
		if not error:
			if frappe.db.get_default(key) is not None:
				frappe.db.set_default(key, None)  # recovered: the incident is over
				frappe.db.commit()  # nosemgrep: the end of an incident stands alone
			continue
		outage = json.loads(frappe.db.get_default(key) or "null") or {
			"since": str(failed_at or now),
			"alerted": 0,
		}
		if not outage["alerted"] and minutes > 0:
			if (now - get_datetime(outage["since"])).total_seconds() >= minutes * 60:
				peer = _("producer") if doctype == "Event Producer" else _("consumer")
				notify_system_managers(
					_("The {0} {1} has been unreachable since {2}").format(peer, name, outage["since"][:19]),
					_("Last error: {0}").format(error_summary(error)),
					doctype,
					name,
				)
				outage["alerted"] = 1
		frappe.db.set_default(key, json.dumps(outage))
		frappe.db.commit()  # nosemgrep: the incident's state goes with its alert


def unreachable_alert_minutes() -> int:
	# read raw: a site that never saved the settings since the field was added has no value, not 0
	value = frappe.db.get_singles_dict("Event Streaming Settings").get("alert_unreachable_minutes")
	return DEFAULT_UNREACHABLE_MINUTES if value in (None, "") else max(int(value), 0)


def outage_key(doctype: str, name: str) -> str:
	# defaults keys are short; a peer URL may not be
	return "event_streaming_outage_" + hashlib.sha1(f"{doctype}::{name}".encode()).hexdigest()[:20]


def error_summary(text: str | None) -> str:
	"""The last line of an error: a traceback's exception, a message as it is; without secrets."""
	line = (text or "").strip().splitlines()[-1:] or [""]
	return redact(line[0], jobs.known_secrets())[:300]


def system_managers() -> list[str]:
	has_role = frappe.qb.DocType("Has Role")
	user = frappe.qb.DocType("User")
	return (
		frappe.qb.from_(has_role)
		.join(user)
		.on(user.name == has_role.parent)
		.select(user.name)
		.distinct()
		.where(has_role.role == "System Manager")
		.where(has_role.parenttype == "User")
		.where(user.enabled == 1)
		.where(user.name.notin(["Guest"]))
		.run(pluck=True)
	)


def notify_system_managers(subject: str, message: str, doctype: str, name: str) -> None:
	"""One Notification Log per System Manager; Frappe emails it where email is set up. Peer texts are
	escaped: a Notification Log's subject and content are shown as HTML."""
	send_email = site_sends_email()
	for user in system_managers():
		alert = frappe.get_doc(
			{
				"doctype": "Notification Log",
				"for_user": user,
				"type": "Alert",
				"subject": escape_html(subject),
				"email_content": escape_html(message),
				"document_type": doctype,
				"document_name": name,
			}
		).insert(ignore_permissions=True)
		# Frappe never emails notifications of type Alert itself: an operator away from Desk must
		# still hear of an outage, so we send it, honouring the user's "email notifications" switch
		if send_email and is_email_notifications_enabled(user):
			try:
				email_alert(alert)
			except Exception:
				jobs.log_failure(_("Event Streaming: could not email an alert"), doctype, name)


def email_alert(alert) -> None:
	"""The alert as email, in Frappe's notification template (subject and content already escaped)."""
	email = frappe.db.get_value("User", alert.for_user, "email")
	if not email:
		return
	frappe.sendmail(
		recipients=email,
		subject=strip_html(alert.subject),
		template="new_notification",
		args={
			"body_content": alert.subject,
			"description": alert.email_content,
			"doc_link": get_url_to_form(alert.document_type, alert.document_name),
		},
		header=[_("Event Streaming Alert"), "red"],
	)


def site_sends_email() -> bool:
	"""Whether this site has an outgoing email account to send alerts through."""
	return bool(
		frappe.db.exists("Email Account", {"enable_outgoing": 1, "default_outgoing": 1})
		or frappe.conf.get("mail_server")
	)
