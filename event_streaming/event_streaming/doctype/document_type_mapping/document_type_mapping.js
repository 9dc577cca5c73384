// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

frappe.ui.form.on("Document Type Mapping", {
	local_doctype(frm) {
		const local_doctype = frm.doc.local_doctype;
		if (!local_doctype) {
			return;
		}

		// custom fields that this app adds to every DocType synced without use_same_name
		const excluded_fieldnames = ["remote_docname", "remote_site_name"];

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
