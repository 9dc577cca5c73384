frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["Event Streaming Changes"] = {
	method: "event_streaming.event_streaming.dashboard_chart_source.event_streaming_changes.event_streaming_changes.get",
	filters: [],
};
