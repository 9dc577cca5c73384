// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// The form header: delivery trouble first, then this site's decisions.
function consumer_indicator(doc) {
	const rows = (doc.consumer_doctypes || []).filter((row) => !row.unsubscribed);
	if (cint(doc.notify_failures) > 0) {
		return [__("Unreachable"), "red"];
	}
	if (rows.some((row) => row.status === "Pending")) {
		return [__("Awaiting Your Approval"), "orange"];
	}
	if (rows.length && rows.every((row) => row.status === "Rejected")) {
		return [__("Rejected"), "red"];
	}
	return [__("Active"), "green"];
}

frappe.ui.form.on("Event Consumer", {
	setup(frm) {
		show_approval_pills(frm, "consumer_doctypes");
	},

	refresh(frm) {
		show_approval_pills(frm, "consumer_doctypes");
		if (!frm.is_new() && !frm.is_dirty()) {
			frm.page.set_indicator(...consumer_indicator(frm.doc));
		}
		// consumers sharing a producer-side user can read each other's feed
		const sharing = (frm.doc.__onload || {}).consumers_sharing_user || [];
		if (sharing.length) {
			frm.set_intro(
				__(
					"The Event Subscriber {0} is also the user of {1}. Consumers that share a user on this site can read each other's feed; give each consumer its own user.",
					[
						frappe.utils.escape_html(frm.doc.user),
						sharing.map((name) => frappe.utils.escape_html(name)).join(", "),
					]
				),
				"orange"
			);
		} else {
			frm.set_intro("");
		}
		// the approval path: rows waiting for this site's decision, and one button for all of them
		const pending = (frm.doc.consumer_doctypes || []).filter((row) => row.status === "Pending");
		if (pending.length && frm.perm[0] && frm.perm[0].write) {
			frm.dashboard.add_comment(
				__("{0} subscription(s) wait for your approval: {1}", [
					pending.length,
					pending.map((row) => frappe.utils.escape_html(row.ref_doctype)).join(", "),
				]),
				"orange",
				true
			);
			frm.add_custom_button(__("Approve Pending"), () => {
				frappe.confirm(
					__("Approve {0} subscription(s) of {1}?", [
						pending.length,
						frappe.utils.escape_html(frm.doc.name),
					]),
					() => {
						pending.forEach((row) => frappe.model.set_value(row.doctype, row.name, "status", "Approved"));
						frm.save();
					}
				);
			});
		}
		show_health(frm);
	},
});
