// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// Names a producer sent are written by the pull without the sanitising a form save applies: show
// them as text, never as markup (form, list and report views all format through these).
function show_producer_text_as_text() {
	const fields = frappe.meta.docfield_map["Event Sync Log"] || {};
	["docname", "event_producer", "producer_doc", "mapping", "update_log"].forEach((fieldname) => {
		if (fields[fieldname]) {
			fields[fieldname].formatter = (value) =>
				frappe.utils.escape_html(value == null ? "" : String(value));
		}
	});
}

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
