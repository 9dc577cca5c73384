"""The deny-list of privilege-bearing DocTypes and fields."""

import pytest

from event_streaming.streaming.trust import (
	PRIVILEGED_DOCTYPES,
	is_privileged,
	is_secret_field,
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
	],
)
def test_privilege_bearing_doctypes_are_denied(doctype):
	assert is_privileged(doctype)


@pytest.mark.parametrize("doctype", ["ToDo", "Note", "User", "Customer", "File", "", None])
def test_ordinary_doctypes_are_not_denied(doctype):
	assert not is_privileged(doctype)


def test_the_deny_list_is_immutable():
	assert isinstance(PRIVILEGED_DOCTYPES, frozenset)


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
