// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Event Update Log", {
	refresh(frm) {
		// a record of what happened: nothing to save
		frm.disable_save();
	},
});
