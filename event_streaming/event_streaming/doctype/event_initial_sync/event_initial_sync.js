// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Event Initial Sync", {
	refresh(frm) {
		if (["Queued", "Running"].includes(frm.doc.status) && !frm.doc.cancel_requested) {
			frm.add_custom_button(__("Cancel"), () => {
				frm.call("cancel_sync").then(() => frm.reload_doc());
			});
		}
		if (["Failed", "Cancelled"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Resume"), () => {
				frm.call("resume_sync").then(() => frm.reload_doc());
			});
		}
	},
});
