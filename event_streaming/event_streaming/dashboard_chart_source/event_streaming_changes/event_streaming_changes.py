# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""Changes this site applied and failed to apply, per day (or week, month), from Event Sync Log."""

import frappe
from frappe import _
from frappe.desk.doctype.dashboard_chart.dashboard_chart import get_result
from frappe.query_builder.functions import Count, Date
from frappe.utils import format_date, now_datetime
from frappe.utils.dateutils import get_from_date_from_timespan, get_period, get_period_beginning


@frappe.whitelist()
def get(
	chart_name: str | None = None,
	chart: str | None = None,
	no_cache: int | str | None = None,
	filters: str | dict | list | None = None,
	from_date: str | None = None,
	to_date: str | None = None,
	timespan: str | None = None,
	time_interval: str | None = None,
	heatmap_year: str | int | None = None,
	refresh: int | str | None = None,
) -> dict:
	"""Who may read Event Sync Logs (System Manager); reads only."""
	frappe.has_permission("Event Sync Log", "read", throw=True)
	timespan = timespan or "Last Month"
	timegrain = time_interval or "Daily"
	# without an explicit end, everything up to now (rows written in bulk may carry the database
	# server's clock, a little ahead of the site's time zone)
	end = frappe.utils.get_datetime(to_date) if to_date else None
	to_date = end or now_datetime()
	start = frappe.utils.get_datetime(from_date) if from_date else None
	if not start:
		start = get_period_beginning(get_from_date_from_timespan(to_date, timespan), timegrain)
	start = start.strftime("%Y-%m-%d")

	log = frappe.qb.DocType("Event Sync Log")
	day = Date(log.creation)
	query = frappe.qb.from_(log).select(day, log.status, Count(log.name)).where(log.creation >= start)
	if end:
		query = query.where(log.creation <= end)
	counts = query.groupby(day, log.status).orderby(day).run()
	datasets = []
	labels = []
	for status, label in (("Synced", _("Applied")), ("Failed", _("Failed"))):
		# get_result sums rows of (date, value, count) into the chart's periods
		rows = [(date, 0, number) for date, row_status, number in counts if row_status == status]
		result = get_result(rows, timegrain, start, to_date, "Count")
		labels = [
			format_date(get_period(date, timegrain), parse_day_first=True)
			if timegrain in ("Daily", "Weekly")
			else get_period(date, timegrain)
			for date, _value in result
		]
		datasets.append({"name": label, "values": [value for _date, value in result]})
	return {"labels": labels, "datasets": datasets}
