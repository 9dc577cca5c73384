// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// the producer's names show as text (public/js/sync_log_text.js, appended by hooks.py)
show_producer_text_as_text();

frappe.ui.form.on("Event Sync Log", {
	setup() {
		show_producer_text_as_text();
	},

	refresh(frm) {
		// a record of what happened: nothing to save
		frm.disable_save();
		const reason = String(frm.doc.error || "")
			.split("\n")
			.find((line) => line.trim());
		if (["Failed", "Skipped"].includes(frm.doc.status) && reason) {
			// one line saying why, above the traceback (the producer's words: text, not markup)
			frm.set_intro(frappe.utils.escape_html(reason), frm.doc.status === "Failed" ? "red" : "gray");
		} else {
			frm.set_intro("");
		}
		if (frm.doc.status !== "Failed") {
			return;
		}

		frm.add_custom_button(__("Resync"), () => {
			frappe
				.xcall(
					"event_streaming.event_streaming.doctype.event_producer.event_producer.resync",
					{ update: frm.doc.name }
				)
				.then((status) => {
					frappe.show_alert({
						message: __("Resync finished with status: {0}", [
							frappe.utils.escape_html(__(status || "Failed")),
						]),
						indicator: status === "Synced" ? "green" : "red",
					});
					frm.reload_doc();
				});
		});
	},
});
