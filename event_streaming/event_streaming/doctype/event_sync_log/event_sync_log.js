// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Event Sync Log", {
	refresh(frm) {
		if (frm.doc.status !== "Failed") {
			return;
		}

		frm.add_custom_button(__("Resync"), () => {
			frappe
				.xcall(
					"event_streaming.event_streaming.doctype.event_producer.event_producer.resync",
					{ update: frm.doc }
				)
				.then((status) => {
					frappe.show_alert({
						message: __("Resync finished with status: {0}", [__(status || "Failed")]),
						indicator: status === "Synced" ? "green" : "red",
					});
					frm.reload_doc();
				});
		});
	},
});
