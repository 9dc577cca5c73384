// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.listview_settings["Event Producer"] = {
	add_fields: ["last_pull_error", "last_pull_at"],

	get_indicator(doc) {
		if (doc.last_pull_error) {
			return [__("Pull Failing"), "red", "last_pull_error,is,set"];
		}
		if (!doc.last_pull_at) {
			return [__("Never Pulled"), "gray", "last_pull_at,is,not set"];
		}
		return [__("Pulling"), "green", "last_pull_error,is,not set"];
	},

	formatters: {
		// a producer's error text: its first line, as text
		last_pull_error(value) {
			const first_line = String(value || "").split("\n")[0];
			return frappe.utils.escape_html(
				first_line.length > 120 ? first_line.slice(0, 117) + "..." : first_line
			);
		},
	},
};
