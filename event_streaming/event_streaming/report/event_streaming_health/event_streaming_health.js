// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.query_reports["Event Streaming Health"] = {
	filters: [],
	formatter(value, row, column, data, default_formatter) {
		const text = default_formatter(value, row, column, data);
		if (column.fieldname !== "status" || !data) return text;
		const colour = { OK: "green", Behind: "orange", "Awaiting Approval": "orange" }[data.status_key] || "red";
		return `<span class="indicator-pill ${colour}">${text}</span>`;
	},
};
