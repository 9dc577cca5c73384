// Copyright (c) 2026, Event Streaming Contributors and contributors
// For license information, please see license.txt

// The form header: pull error first, then what the producer decided.
function producer_indicator(doc) {
	const rows = (doc.producer_doctypes || []).filter((row) => !row.unsubscribe);
	if (doc.last_pull_error) {
		return [__("Pull Failing"), "red"];
	}
	if (rows.some((row) => row.status === "Pending")) {
		return [__("Awaiting Approval"), "orange"];
	}
	if (rows.length && rows.every((row) => row.status === "Rejected")) {
		return [__("Rejected"), "red"];
	}
	return [__("Active"), "green"];
}

// Realtime news of the background pull the Pull Now button asked for (pull.report_to_watcher).
function follow_pull(frm) {
	frappe.realtime.off("event_streaming_pull");
	frappe.realtime.on("event_streaming_pull", (data) => {
		if (!data || frm.doctype !== "Event Producer" || data.event_producer !== frm.doc.name) {
			return;
		}
		const counts = [cint(data.applied), cint(data.failed), cint(data.skipped)];
		if (data.stage === "progress") {
			frm.set_intro(__("Pulling: {0} applied, {1} failed, {2} skipped so far.", counts), "blue");
			return;
		}
		frm.set_intro("");
		if (data.stage === "error") {
			frappe.msgprint({
				title: __("Pull Failed"),
				message: frappe.utils.escape_html(data.error || ""),
				indicator: "red",
			});
		} else {
			frappe.msgprint({
				title: __("Pull Finished"),
				message: __("{0} changes applied, {1} failed, {2} skipped.", counts),
				indicator: counts[1] ? "orange" : "green",
			});
		}
		frm.reload_doc();
	});
}

frappe.ui.form.on("Event Producer", {
	setup(frm) {
		frm.set_query("ref_doctype", "producer_doctypes", () => {
			return {
				filters: {
					issingle: 0,
					istable: 0,
				},
			};
		});
		show_approval_pills(frm, "producer_doctypes");
		follow_pull(frm);
	},

	refresh(frm) {
		show_approval_pills(frm, "producer_doctypes");
		if (!frm.is_new() && !frm.is_dirty()) {
			frm.page.set_indicator(...producer_indicator(frm.doc));
		}

		if (!frm.is_new()) {
			frm.add_custom_button(
				__("Pull Now"),
				() => {
					frm.call("pull_now").then((r) => {
						const message =
							typeof r.message === "string" && r.message
								? r.message
								: __("Pull requested; its progress appears on this form.");
						frm.set_intro(frappe.utils.escape_html(message), "blue");
					});
				},
				__("Actions")
			);
			frm.add_custom_button(
				__("Sync Existing Documents"),
				() => confirm_initial_sync(frm),
				__("Actions")
			);
		}
		show_health(frm);
	},
});

// Initial sync: show how many documents the producer has, then queue one run per DocType.
function confirm_initial_sync(frm) {
	frappe
		.call({
			method: "event_streaming.api.get_initial_sync_counts",
			args: { event_producer: frm.doc.name },
			freeze: true,
		})
		.then((r) => {
			const rows = (r.message || [])
				.map(
					(row) =>
						`<li>${frappe.utils.escape_html(__(row.doctype))}: ${__("{0} documents", [
							cint(row.count),
						])}</li>`
				)
				.join("");
			frappe.confirm(
				__(
					"Copy the documents the producer already has? It has:<ul>{0}</ul>Conditions apply, copies already here are updated in place, and the live stream goes on meanwhile.",
					[rows]
				),
				() => {
					frappe
						.call({
							method: "event_streaming.api.start_initial_sync",
							args: { event_producer: frm.doc.name },
						})
						.then(() => {
							frappe.show_alert({
								message: __("Initial sync started: progress shows here and in Event Initial Sync"),
								indicator: "green",
							});
						});
				}
			);
		});
}
