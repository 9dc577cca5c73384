app_name = "event_streaming"
app_title = "Event Streaming"
app_publisher = "Event Streaming Contributors"
app_description = "Replicate documents between Frappe sites"
app_email = "maintainers@event-streaming.invalid"
app_license = "MIT"
app_icon = "octicon octicon-sync"
app_color = "#5e64ff"

export_python_type_annotations = True
require_type_annotated_api_methods = True  # enforced from v16; our tests check it on v15

# Capture: every change of every DocType reaches capture(), which returns at once unless the
# DocType has an approved, subscribed consumer (a cached set lookup).
doc_events = {
	"*": {
		"after_insert": "event_streaming.streaming.capture.capture",
		"on_update": "event_streaming.streaming.capture.capture",
		"on_submit": "event_streaming.streaming.capture.capture",
		"on_cancel": "event_streaming.streaming.capture.capture",
		"on_update_after_submit": "event_streaming.streaming.capture.capture",
		"on_trash": "event_streaming.streaming.capture.capture",
		"after_rename": "event_streaming.streaming.capture.capture_rename",
	}
}

# approval pills and the health line, shared by both forms (appended to each form's own script)
doctype_js = {
	"Event Producer": "public/js/peer_forms.js",
	"Event Consumer": "public/js/peer_forms.js",
	"Event Sync Log": "public/js/sync_log_text.js",
}
doctype_list_js = {"Event Sync Log": "public/js/sync_log_text.js"}

scheduler_events = {
	"cron": {
		"* * * * *": [
			"event_streaming.streaming.notify.retry_due_notifications",
			"event_streaming.streaming.registration.retry_pushes",
			"event_streaming.streaming.pull.pull_all_producers",
			"event_streaming.streaming.pull.retry_failed_logs",
			"event_streaming.streaming.health.check_alerts",
		],
	},
}

# Retention through Log Settings (days are editable there).
default_log_clearing_doctypes = {
	"Event Update Log": 90,
	"Event Sync Log": 30,
}

after_install = "event_streaming.install.after_install"
before_uninstall = "event_streaming.install.before_uninstall"

# Sites that ran Frappe v14's in-core event streaming call the same functions under frappe.*.
override_whitelisted_methods = {
	"frappe.event_streaming.doctype.event_consumer.event_consumer.register_consumer": "event_streaming.event_streaming.doctype.event_consumer.event_consumer.register_consumer",
	"frappe.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer": "event_streaming.event_streaming.doctype.event_update_log.event_update_log.get_update_logs_for_consumer",
	"frappe.event_streaming.doctype.event_producer.event_producer.new_event_notification": "event_streaming.event_streaming.doctype.event_producer.event_producer.new_event_notification",
}

# Plug-in points for other apps (see README):
# event_streaming_conditions = ["my_app.streaming.can_sync_note"]
#     functions a consumer may name in a "cmd:" condition; called with read-only copies of
#     consumer, doc and update_log. A site's operator may also list functions under the same key
#     in site_config.json (the test suite does, for its fixture); nothing is registered here.
# event_streaming_before_apply = ["my_app.streaming.before_apply"]
#     called with update_log (dict) and event_producer before a replicated change is applied.
# event_streaming_after_apply = ["my_app.streaming.after_apply"]
#     called with update_log, event_producer and local_name after it was applied.
