// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

const MAPPING_MODULE = "event_streaming.event_streaming.doctype.document_type_mapping.document_type_mapping";

frappe.ui.form.on("Document Type Mapping", {
	refresh(frm) {
		frm.add_custom_button(__("Load Remote Fields"), () => load_remote_fields(frm));
	},

	local_doctype(frm) {
		const local_doctype = frm.doc.local_doctype;
		if (!local_doctype) {
			return;
		}
		// rows that save as they are: Link fields get a default or are left out, with a note
		frappe
			.xcall(`${MAPPING_MODULE}.propose_field_mapping`, { local_doctype: local_doctype })
			.then((proposal) => {
				// the user may have picked another DocType meanwhile
				if (frm.doc.local_doctype !== local_doctype) {
					return;
				}
				frm.clear_table("field_mapping");
				proposal.rows.forEach((row) => frm.add_child("field_mapping", row));
				frm.refresh_field("field_mapping");
				if (proposal.left_out.length) {
					frm.set_intro(
						__(
							"Left out, as they need a Mapping or a Default Value you choose: {0}. Add rows for them if the producer sends them.",
							[proposal.left_out.map((name) => frappe.utils.escape_html(name)).join(", ")]
						),
						"orange"
					);
				} else {
					frm.set_intro("");
				}
			});
	},
});

function load_remote_fields(frm) {
	if (!frm.doc.remote_doctype) {
		frappe.msgprint(__("Set the Remote DocType first."));
		return;
	}
	if (!frm.is_new()) {
		frm.call({ doc: frm.doc, method: "get_remote_fields", freeze: true }).then((r) =>
			offer_remote_fields(frm, r.message || [])
		);
		return;
	}
	// not saved yet, so no Event Producer uses it: read from the only one, or the one chosen
	frappe.db.get_list("Event Producer", { limit: 2 }).then((producers) => {
		const load = (event_producer) =>
			frappe
				.call({
					method: `${MAPPING_MODULE}.get_remote_fields_before_save`,
					args: { remote_doctype: frm.doc.remote_doctype, event_producer: event_producer },
					freeze: true,
				})
				.then((r) => offer_remote_fields(frm, r.message || []));
		if (producers.length === 1) {
			load(producers[0].name);
		} else {
			frappe.prompt(
				{
					fieldname: "event_producer",
					fieldtype: "Link",
					options: "Event Producer",
					label: __("Event Producer"),
					reqd: 1,
				},
				(values) => load(values.event_producer),
				__("Read the Remote Fields From")
			);
		}
	});
}

function offer_remote_fields(frm, fields) {
	// the producer's labels are its words: the suggestion list renders markup, so show them as text
	const text = (value) => frappe.utils.escape_html(__(value || ""));
	const options = fields.map((field) => ({
		value: field.fieldname,
		label: `${text(field.fieldname)} (${text(field.label || field.fieldname)}, ${text(field.fieldtype)})`,
	}));
	// offer the producer's fieldnames as suggestions; typing any other name still works
	const grid = frm.fields_dict.field_mapping.grid;
	grid.update_docfield_property("remote_fieldname", "fieldtype", "Autocomplete");
	grid.update_docfield_property("remote_fieldname", "options", options);
	frm.refresh_field("field_mapping");
	frappe.show_alert({
		message: __("{0} fields of {1} loaded: pick them in Remote Fieldname.", [
			fields.length,
			frappe.utils.escape_html(frm.doc.remote_doctype),
		]),
		indicator: "green",
	});
}
