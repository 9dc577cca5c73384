// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.listview_settings["Event Sync Log"] = {
	get_indicator(doc) {
		const colors = {
			Failed: "red",
			Synced: "green",
		};
		if (doc.status && colors[doc.status]) {
			return [__(doc.status), colors[doc.status], "status,=," + doc.status];
		}
	},

	onload(listview) {
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
