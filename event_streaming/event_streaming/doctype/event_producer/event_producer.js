// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Event Producer", {
	setup(frm) {
		frm.set_query("ref_doctype", "producer_doctypes", () => {
			return {
				filters: {
					issingle: 0,
					istable: 0,
				},
			};
		});
	},

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

		if (!frm.is_new()) {
			frm.add_custom_button(
				__("Pull Now"),
				() => {
					frm.call("pull_now").then((r) => {
						const message =
							typeof r.message === "string" && r.message
								? r.message
								: __("Pull from the producer has been started");
						frappe.show_alert({ message: message, indicator: "green" });
					});
				},
				__("Actions")
			);
		}
	},
});
