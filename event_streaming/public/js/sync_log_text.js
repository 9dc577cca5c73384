// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// Appended to the Event Sync Log form and list scripts (hooks.py doctype_js, doctype_list_js).
// Names a producer sent are written by the pull without the sanitising a form save applies: show
// them as text, never as markup (form, list and report views all format through these).
function show_producer_text_as_text() {
	const fields = frappe.meta.docfield_map["Event Sync Log"] || {};
	["ref_doctype", "docname", "event_producer", "producer_doc", "mapping", "update_log"].forEach((fieldname) => {
		if (fields[fieldname]) {
			fields[fieldname].formatter = (value) =>
				frappe.utils.escape_html(value == null ? "" : String(value));
		}
	});
}
