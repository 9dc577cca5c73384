// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// Shared by the Event Producer and Event Consumer forms (hooks.py doctype_js appends it to both):
// the approval pill of a subscription row and the stream's health line.

const APPROVAL_COLORS = { Approved: "green", Rejected: "red", Pending: "orange" };

// Approval status of a subscription row: a coloured pill, never a link.
function approval_pill(value) {
	if (!value) {
		return "";
	}
	return `<span class="indicator-pill ${APPROVAL_COLORS[value] || "gray"}">${frappe.utils.escape_html(
		__(value)
	)}</span>`;
}

function show_approval_pills(frm, table_fieldname) {
	const table = frm.fields_dict[table_fieldname];
	if (!table) {
		return;
	}
	const fields = frappe.meta.docfield_map[table.df.options] || {};
	if (fields.status) {
		fields.status.formatter = approval_pill;
	}
	// the grid works on its own copies of the docfields
	const grid = table.grid;
	const column = grid && grid.docfields && grid.docfields.find((df) => df.fieldname === "status");
	if (column && column.formatter !== approval_pill) {
		grid.update_docfield_property("status", "formatter", approval_pill);
	}
}

// Health of this stream (event_streaming.streaming.health); the server escapes every peer text.
function show_health(frm) {
	if (frm.is_new()) {
		return;
	}
	const name = frm.doc.name;
	frappe
		.call({
			method: "event_streaming.api.get_peer_health",
			args: { doctype: frm.doctype, name: name },
			type: "GET",
		})
		.then((r) => {
			if (r.message && frm.doc.name === name) {
				frm.dashboard.set_headline(r.message);
			}
		});
}
