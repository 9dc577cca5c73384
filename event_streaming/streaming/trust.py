# Copyright (c) 2026, Event Streaming Contributors and contributors
# For license information, please see license.txt
"""What a peer may never receive or write, on plain values.

One deny-list for both directions: a producer never serves these DocTypes on their own
(``api.get_documents``) and a consumer never creates them from a peer's data (dependencies). They
carry privileges (roles, permissions, shares), credentials (keys, OAuth, e-mail accounts) or code
that a site runs (scripts, reports, rules with conditions). Named here once; no frappe import.
"""

PRIVILEGED_DOCTYPES = frozenset(
	{
		# roles and what they grant
		"Role",
		"Has Role",
		"Role Profile",
		"Module Profile",
		"Block Module",
		"Custom Role",
		"User Type",
		"User Type Module",
		"User Document Type",
		"User Select Document Type",
		"Role Permission for Page and Report",
		"Page",
		"Report",
		# record-level permissions and sharing
		"User Permission",
		"DocShare",
		"DocPerm",
		"Custom DocPerm",
		"Document Share Key",
		"User Group",
		"User Group Member",
		# credentials and integrations
		"OAuth Client",
		"OAuth Client Role",
		"OAuth Scope",
		"OAuth Bearer Token",
		"OAuth Authorization Code",
		"OAuth Provider Settings",
		"Social Login Key",
		"User Social Login",
		"Connected App",
		"Token Cache",
		"Email Account",
		"Email Domain",
		"User Email",
		"LDAP Settings",
		"Dropbox Settings",
		"S3 Backup Settings",
		"Google Settings",
		"Integration Request",
		"Webhook Request Log",
		# code, conditions or outgoing data the receiving site would run or send
		"Server Script",
		"Client Script",
		"Custom HTML Block",
		"Print Format",
		"Notification",
		"Webhook",
		"Auto Email Report",
		"Assignment Rule",
		"Energy Point Rule",
		"Workflow",
		"Web Form",
		"Web Page",
		"Website Script",
		"Scheduled Job Type",
		"Data Import",
		"Data Export",
		"Number Card",
		"Dashboard Chart",
		# schema, site-wide settings and defaults
		"DocType",
		"DocField",
		"Custom Field",
		"Property Setter",
		"Module Def",
		"Domain",
		"Has Domain",
		"Domain Settings",
		"DefaultValue",
		"System Settings",
		"Session Default Settings",
		"Installed Applications",
		"Deleted Document",
		"Access Log",
		"Activity Log",
		# what a site sends, runs or shows by itself once the record exists: queued mail, alerts,
		# translations of its interface, repeating documents, consoles, prepared reports, themes,
		# data deletion requests, and its own logs
		"Email Queue",
		"Email Queue Recipient",
		"Email Flag Queue",
		"Unhandled Email",
		"Notification Log",
		"Notification Settings",
		"Translation",
		"Auto Repeat",
		"System Console",
		"Console Log",
		"Prepared Report",
		"Website Theme",
		"Personal Data Deletion Request",
		"Personal Data Download Request",
		"Document Naming Rule",
		"Package",
		"Package Release",
		"Package Import",
		"Error Log",
		"Scheduled Job Log",
		"RQ Job",
		"Submission Queue",
		"Version",
		# this app's own records hold the peers' API keys
		"Event Consumer",
		"Event Consumer Document Type",
		"Event Producer",
		"Event Producer Document Type",
		"Event Producer Last Update",
		"Event Streaming Settings",
		"Event Update Log",
		"Event Update Log Consumer",
		"Event Sync Log",
		"Document Type Mapping",
		"Document Type Field Mapping",
	}
)

# Ordinary records whose content a site renders as HTML or templates (print letter heads, e-mail
# templates, comments, web templates) or that reach people or files (communications, newsletters,
# e-mail groups, reminders, attachments). A producer's change may create them as link targets only
# where the consumer lists them in Allowed Dependency DocTypes (or subscribes to them).
OPT_IN_DEPENDENCY_DOCTYPES = frozenset(
	{
		"Letter Head",
		"Print Heading",
		"Address Template",
		"Email Template",
		"Web Template",
		"Comment",
		"Communication",
		"File",
		"Newsletter",
		"Email Group",
		"Email Group Member",
		"Email Unsubscribe",
		"Reminder",
		"Document Follow",
		"Kanban Board",
		"Dashboard",
	}
)

# Fields of otherwise shareable DocTypes that grant privileges or hold credentials. A User may be
# a link target (owner, assignee, Note Seen By), but never with its roles, profiles or keys.
PRIVILEGED_FIELDS = {
	"User": frozenset(
		{
			"roles",
			"role_profile_name",
			"role_profiles",
			"module_profile",
			"block_modules",
			"user_type",
			"api_key",
			"api_secret",
			"new_password",
			"reset_password_key",
			"last_reset_password_key_generated_on",
			"user_emails",
			"social_logins",
			"defaults",
			"restrict_ip",
			"login_after",
			"login_before",
			"bypass_restrict_ip_check_if_2fa_enabled",
			"simultaneous_sessions",
			"last_login",
			"last_ip",
			"last_active",
			"last_known_versions",
		}
	),
}


# fieldnames that hold credentials in any DocType (besides Password fields, which never leave a site)
SECRET_FIELDNAME_PARTS = (
	"password",
	"passwd",
	"secret",
	"api_key",
	"private_key",
	"access_token",
	"refresh_token",
)


def is_secret_field(fieldname: str, fieldtype: str | None = None) -> bool:
	"""Does a field hold a credential? Password fields, and fields named like one."""
	name = (fieldname or "").lower()
	return fieldtype == "Password" or any(part in name for part in SECRET_FIELDNAME_PARTS)


def is_privileged(doctype: str | None) -> bool:
	"""Is ``doctype`` one that grants privileges, holds credentials or carries code?"""
	return doctype in PRIVILEGED_DOCTYPES


def needs_opt_in_as_dependency(doctype: str | None) -> bool:
	"""May ``doctype`` be created as a link target only where the consumer allowed it by name?"""
	return doctype in OPT_IN_DEPENDENCY_DOCTYPES


def privileged_fields(doctype: str | None) -> frozenset:
	return PRIVILEGED_FIELDS.get(doctype, frozenset())


def strip_privileged_fields(doctype: str | None, values: dict) -> dict:
	"""A copy of a document dict without the fields of ``doctype`` that carry privileges."""
	fields = privileged_fields(doctype)
	return {key: value for key, value in values.items() if key not in fields}
