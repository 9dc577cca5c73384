"""The deny-list of privilege-bearing DocTypes and fields."""

import pytest

from event_streaming.streaming.trust import (
	OPT_IN_DEPENDENCY_DOCTYPES,
	PRIVILEGED_DOCTYPES,
	is_privileged,
	is_secret_field,
	needs_opt_in_as_dependency,
	strip_privileged_fields,
)


@pytest.mark.parametrize(
	"doctype",
	[
		"Role",
		"Has Role",
		"Role Profile",
		"Module Profile",
		"DocShare",
		"User Permission",
		"DocPerm",
		"Custom DocPerm",
		"OAuth Client",
		"OAuth Bearer Token",
		"Email Account",
		"Server Script",
		"Event Consumer",
		"Event Producer",
		# sent, shown or run by the site on its own
		"Email Queue",
		"Translation",
		"Auto Repeat",
		"System Console",
		"Notification Log",
	],
)
def test_privilege_bearing_doctypes_are_denied(doctype):
	assert is_privileged(doctype)


@pytest.mark.parametrize("doctype", ["ToDo", "Note", "User", "Customer", "File", "", None])
def test_ordinary_doctypes_are_not_denied(doctype):
	assert not is_privileged(doctype)


def test_the_deny_list_is_immutable():
	assert isinstance(PRIVILEGED_DOCTYPES, frozenset)


@pytest.mark.parametrize("doctype", ["Letter Head", "Email Template", "Comment", "Communication", "File"])
def test_rendered_or_sent_doctypes_are_link_targets_only_by_name(doctype):
	assert needs_opt_in_as_dependency(doctype)
	assert not is_privileged(doctype)


@pytest.mark.parametrize("doctype", ["ToDo", "Note", "User", "Contact", "Customer"])
def test_ordinary_link_targets_need_no_opt_in(doctype):
	assert not needs_opt_in_as_dependency(doctype)


def test_no_doctype_is_both_denied_and_opt_in():
	assert not PRIVILEGED_DOCTYPES & OPT_IN_DEPENDENCY_DOCTYPES


def test_a_users_roles_profiles_and_keys_are_stripped():
	user = {
		"name": "a@example.com",
		"email": "a@example.com",
		"first_name": "A",
		"roles": [{"role": "System Manager"}],
		"role_profile_name": "Admin Profile",
		"module_profile": "All",
		"api_key": "key",
		"api_secret": "****",
		"user_type": "System User",
		"block_modules": [],
		"social_logins": [{"provider": "frappe", "userid": "x"}],
	}
	stripped = strip_privileged_fields("User", user)
	assert stripped == {"name": "a@example.com", "email": "a@example.com", "first_name": "A"}
	assert "roles" in user  # the input is left alone


def test_other_doctypes_keep_their_fields():
	note = {"name": "n", "title": "t", "roles": "kept: not a User"}
	assert strip_privileged_fields("Note", note) == note


@pytest.mark.parametrize(
	("fieldname", "fieldtype", "expected"),
	[
		("api_secret", "Password", True),
		("anything", "Password", True),
		("smtp_password", "Data", True),
		("client_secret", "Data", True),
		("api_key", "Data", True),
		("refresh_token", "Small Text", True),
		("description", "Text", False),
		("title", None, False),
	],
)
def test_secret_fields(fieldname, fieldtype, expected):
	assert is_secret_field(fieldname, fieldtype) is expected
