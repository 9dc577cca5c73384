// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Event Consumer", {
	refresh(frm) {
		frm.set_indicator_formatter("status", (doc) => {
			if (doc.status === "Approved") {
				return "green";
			}
			if (doc.status === "Rejected") {
				return "red";
			}
			return "orange";
		});
	},
});
