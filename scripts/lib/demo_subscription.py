"""Subscribe the demo consumer to ToDo and Note on the demo producer, as a user would in the desk.

Run by scripts/dev_bench.sh --demo with the bench's Python from its sites directory, while the web
server and a worker run:

    python demo_subscription.py subscribe|unsubscribe PRODUCER_SITE PRODUCER_URL CONSUMER_SITE CONSUMER_URL

subscribe: Administrator gets API keys on both sites (the producer's are given to the consumer's
Event Producer; the consumer's are used by the producer to call back), the Event Producer is
created on the consumer (which registers it on the producer over HTTP), and the producer approves
the rows in its Event Consumer, which mirrors the approval to the consumer. An existing
subscription is kept; it is only approved again if needed.

unsubscribe: both sides forget the subscription (documents already replicated stay), so that the
test suite and the benchmark find no consumer they did not register themselves.
"""

import sys
import time

import frappe

DOCTYPES = ("ToDo", "Note")
USER = "Administrator"


def open_site(site: str) -> None:
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	frappe.set_user(USER)


def close_site() -> None:
	frappe.db.commit()
	frappe.destroy()


def api_key_and_secret() -> tuple[str, str]:
	"""Fresh keys for the user on the open site (a secret can only be read back when it is made)."""
	from frappe.core.doctype.user.user import generate_keys

	secret = generate_keys(USER)["api_secret"]
	return frappe.db.get_value("User", USER, "api_key"), secret


def subscribe(producer_site: str, producer_url: str, consumer_site: str, consumer_url: str) -> None:
	open_site(consumer_site)
	subscribed = frappe.db.exists("Event Producer", producer_url)
	if not frappe.db.get_value("User", USER, "api_key"):
		api_key_and_secret()
	close_site()

	if subscribed:
		print(f"{consumer_site} already follows {producer_url}")
	else:
		open_site(producer_site)
		api_key, api_secret = api_key_and_secret()
		close_site()

		open_site(consumer_site)
		frappe.get_doc(
			{
				"doctype": "Event Producer",
				"producer_url": producer_url,
				"user": USER,
				"api_key": api_key,
				"api_secret": api_secret,
				"producer_doctypes": [{"ref_doctype": doctype, "use_same_name": 1} for doctype in DOCTYPES],
			}
		).insert()
		close_site()
		print(f"{consumer_site} subscribed to {', '.join(DOCTYPES)} on {producer_url}")

	open_site(producer_site)
	consumer = frappe.get_doc("Event Consumer", consumer_url)
	pending = [row for row in consumer.consumer_doctypes if row.status != "Approved"]
	for row in pending:
		row.status = "Approved"
	if pending:
		consumer.save()
		print(f"approved on {producer_site}: {', '.join(row.ref_doctype for row in pending)}")
	close_site()

	# the approval reaches the consumer over HTTP, at once or through the worker
	for _ in range(30):
		open_site(consumer_site)
		statuses = {
			row.ref_doctype: row.status
			for row in frappe.get_doc("Event Producer", producer_url).producer_doctypes
		}
		close_site()
		if all(statuses.get(doctype) == "Approved" for doctype in DOCTYPES):
			print(f"{consumer_site} sees the approval: {statuses}")
			return
		time.sleep(1)
	sys.exit(f"{consumer_site} still shows {statuses} after 30 s")


def unsubscribe(producer_site: str, producer_url: str, consumer_site: str, consumer_url: str) -> None:
	open_site(consumer_site)
	if frappe.db.exists("Event Producer", producer_url):
		frappe.delete_doc("Event Producer", producer_url, force=True)
	frappe.db.delete("Event Sync Log", {"event_producer": producer_url})
	close_site()

	open_site(producer_site)
	if frappe.db.exists("Event Consumer", consumer_url):
		frappe.delete_doc("Event Consumer", consumer_url, force=True)
	close_site()
	print(f"{consumer_site} no longer follows {producer_url}")


if __name__ == "__main__":
	actions = {"subscribe": subscribe, "unsubscribe": unsubscribe}
	if len(sys.argv) != 6 or sys.argv[1] not in actions:
		sys.exit(__doc__)
	actions[sys.argv[1]](*sys.argv[2:6])
