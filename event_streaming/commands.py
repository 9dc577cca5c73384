# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""bench commands: ``bench --site CONSUMER event-streaming sync-existing --producer URL [--doctype D]``."""

import sys

import click
from frappe.commands import get_site, pass_context


@click.group("event-streaming")
def event_streaming():
	"""Event Streaming tools."""


@event_streaming.command("sync-existing")
@click.option("--producer", required=True, help="URL of the producer (the name of its Event Producer)")
@click.option("--doctype", default=None, help="only this subscribed DocType (local name)")
@pass_context
def sync_existing(context, producer: str, doctype: str | None = None):
	"""Copy the documents the producer already has (initial sync); waits until done, resumes an
	unfinished run, and exits non-zero if any DocType failed."""
	import frappe

	from event_streaming.streaming import payload, snapshot

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	failed = False
	try:
		frappe.set_user("Administrator")
		try:
			url = payload.normalise_site_url(producer)
		except payload.PayloadError:
			url = producer
		if not frappe.db.exists("Event Producer", url):
			click.secho(f"No Event Producer {producer} on {site}.", fg="red")
			sys.exit(1)
		try:
			runs = snapshot.start(url, doctype, enqueue=False)
		except frappe.ValidationError as error:
			click.secho(frappe.utils.strip_html(str(error)), fg="red")
			sys.exit(1)
		for run_name in runs:
			status = snapshot.run(run_name, echo=click.echo)
			record = frappe.db.get_value(
				snapshot.RUN_DOCTYPE, run_name, ["ref_doctype", "applied", "skipped", "failed"], as_dict=True
			)
			click.echo(
				f"{record.ref_doctype}: {status} ({record.applied} applied, {record.skipped} newer here, "
				f"{record.failed} failed) [{run_name}]"
			)
			failed = failed or status != "Completed" or bool(record.failed)
	finally:
		frappe.destroy()
	if failed:
		sys.exit(1)


commands = [event_streaming]
