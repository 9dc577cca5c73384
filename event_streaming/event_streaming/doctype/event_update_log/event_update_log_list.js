// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.listview_settings["Event Update Log"] = {
	add_fields: ["ref_doctype", "docname"],

	formatters: {
		// the changed document, linked (its name shown as text)
		docname(value, df, doc) {
			return document_link(doc.ref_doctype, value);
		},
	},
};

function document_link(doctype, name) {
	const text = frappe.utils.escape_html(name == null ? "" : String(name));
	if (!doctype || !name) {
		return text;
	}
	return `<a href="/app/${frappe.router.slug(doctype)}/${encodeURIComponent(name)}">${text}</a>`;
}
