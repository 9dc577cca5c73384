// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Document Type Mapping", {
	refresh(frm) {
		if (!frm.is_new()) {
			frm.add_custom_button(__("Load Remote Fields"), () => load_remote_fields(frm));
		}
	},

	local_doctype(frm) {
		const local_doctype = frm.doc.local_doctype;
		if (!local_doctype) {
			return;
		}

		// custom fields that this app adds to every DocType synced without use_same_name
		const excluded_fieldnames = ["remote_docname", "remote_site_name"];

		// the meta may not be loaded yet: fill the table only once it is, also on first use
		frappe.model.with_doctype(local_doctype, () => {
			// the user may have picked another DocType while the meta was loading
			if (frm.doc.local_doctype !== local_doctype) {
				return;
			}

			frm.clear_table("field_mapping");
			frappe
				.get_meta(local_doctype)
				.fields.filter(
					(df) =>
						frappe.model.is_value_type(df) &&
						!df.hidden &&
						!excluded_fieldnames.includes(df.fieldname)
				)
				.forEach((df) => {
					frm.add_child("field_mapping", { local_fieldname: df.fieldname });
				});
			frm.refresh_field("field_mapping");
		});
	},
});

function load_remote_fields(frm) {
	frm.call({ doc: frm.doc, method: "get_remote_fields", freeze: true }).then((r) => {
		const fields = r.message || [];
		const options = fields.map((field) => ({
			value: field.fieldname,
			label: `${field.fieldname} (${__(field.label || field.fieldname)}, ${__(field.fieldtype)})`,
		}));
		// offer the producer's fieldnames as suggestions; typing any other name still works
		const grid = frm.fields_dict.field_mapping.grid;
		grid.update_docfield_property("remote_fieldname", "fieldtype", "Autocomplete");
		grid.update_docfield_property("remote_fieldname", "options", options);
		frm.refresh_field("field_mapping");
		frappe.show_alert({
			message: __("{0} fields of {1} loaded: pick them in Remote Fieldname.", [
				fields.length,
				frm.doc.remote_doctype,
			]),
			indicator: "green",
		});
	});
}
