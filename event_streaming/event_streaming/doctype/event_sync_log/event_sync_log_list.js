// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// the producer's names show as text (public/js/sync_log_text.js, appended by hooks.py)
show_producer_text_as_text();

function document_link(doctype, name) {
	const text = frappe.utils.escape_html(name == null ? "" : String(name));
	if (!doctype || !name) {
		return text;
	}
	return `<a href="/app/${frappe.router.slug(doctype)}/${encodeURIComponent(name)}">${text}</a>`;
}

frappe.listview_settings["Event Sync Log"] = {
	add_fields: ["ref_doctype", "docname"],

	formatters: {
		// the local copy, linked (its name, which a producer chose, shown as text)
		docname(value, df, doc) {
			return document_link(doc.ref_doctype, value);
		},
	},

	get_indicator(doc) {
		const colors = {
			Failed: "red",
			Synced: "green",
			Skipped: "gray",
		};
		if (doc.status && colors[doc.status]) {
			return [__(doc.status), colors[doc.status], "status,=," + doc.status];
		}
	},

	onload(listview) {
		show_producer_text_as_text();
		listview.page.add_actions_menu_item(
			__("Resync Selected"),
			() => {
				const names = listview.get_checked_items(true);
				if (!names.length) {
					frappe.msgprint(__("Please select the Event Sync Logs to resync."));
					return;
				}

				frappe
					.xcall("event_streaming.api.resync_failed_logs", { names: names })
					.then((result) => {
						let count = 0;
						if (Array.isArray(result)) {
							count = result.length;
						} else if (typeof result === "number") {
							count = result;
						}
						listview.refresh();
						frappe.show_alert({
							message: __("{0} of {1} Event Sync Logs resynced", [
								count,
								names.length,
							]),
							indicator: count ? "green" : "orange",
						});
					});
			},
			false
		);
	},
};
