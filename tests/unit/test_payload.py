"""Scenarios for checking what crosses the wire between producer and consumer sites."""

import json

import pytest

from event_streaming.streaming.diff import DIFF_KEYS
from event_streaming.streaming.payload import (
	PayloadError,
	build_registration,
	check_feed_page,
	check_feed_row,
	check_name,
	is_storable,
	normalise_diff,
	normalise_site_url,
	parse_json,
	parse_name_list,
	parse_registration,
	storable_text,
)


def feed_row(**overrides):
	row = {
		"update_type": "Create",
		"ref_doctype": "Note",
		"docname": "NOTE-0001",
		"data": json.dumps({"doctype": "Note", "name": "NOTE-0001", "title": "Hello"}),
		"name": "a1b2c3d4e5",
		"creation": "2024-03-01 10:00:00.123456",
	}
	row.update(overrides)
	return row


def registration(**overrides):
	data = {
		"event_consumer": "https://consumer.example.com",
		"consumer_doctypes": json.dumps([{"doctype": "Note", "condition": None}]),
		"user": "sync@example.com",
		"api_key": "key123",
		"api_secret": "secret456",
	}
	data.update(overrides)
	return data


# ---------------------------------------------------------------------------
# parse_json
# ---------------------------------------------------------------------------


def test_parse_json_passes_already_parsed_values_through_untouched():
	value = {"a": 1}

	assert parse_json(value, "x") is value
	assert parse_json(None, "x") is None
	assert parse_json([1, 2], "x") == [1, 2]


def test_parse_json_names_the_offending_payload_on_garbage():
	with pytest.raises(PayloadError, match="the widget is not valid JSON"):
		parse_json("{not json", "the widget")


def test_parse_json_rejects_values_that_are_not_text():
	with pytest.raises(PayloadError):
		parse_json(42.5j, "a complex number")


# ---------------------------------------------------------------------------
# check_feed_row
# ---------------------------------------------------------------------------


def test_a_create_row_has_its_data_text_parsed_into_a_snapshot():
	checked = check_feed_row(feed_row())

	assert checked["data"] == {"doctype": "Note", "name": "NOTE-0001", "title": "Hello"}
	assert checked["update_type"] == "Create"
	assert checked["docname"] == "NOTE-0001"
	assert checked["creation"] == "2024-03-01 10:00:00.123456"


def test_a_row_whose_data_is_already_an_object_is_accepted():
	checked = check_feed_row(feed_row(data={"title": "Parsed"}))

	assert checked["data"] == {"title": "Parsed"}


def test_extra_keys_such_as_the_v2_sequence_are_kept():
	checked = check_feed_row(feed_row(sequence=17))

	assert checked["sequence"] == 17


def test_checking_a_row_does_not_modify_the_peers_row():
	row = feed_row(name=7)
	before = dict(row)

	check_feed_row(row)

	assert row == before


def test_an_integer_log_name_is_turned_into_text():
	checked = check_feed_row(feed_row(name=1042))

	assert checked["name"] == "1042"


def test_a_zero_log_name_is_not_mistaken_for_a_missing_one():
	assert check_feed_row(feed_row(name=0))["name"] == "0"


@pytest.mark.parametrize("update_type", ["Rename", "create", "", None, "Cancel"])
def test_an_unknown_update_type_is_rejected(update_type):
	with pytest.raises(PayloadError):
		check_feed_row(feed_row(update_type=update_type))


def test_the_unknown_update_type_is_named_in_the_error():
	with pytest.raises(PayloadError, match="unknown update type 'Rename'"):
		check_feed_row(feed_row(update_type="Rename"))


@pytest.mark.parametrize("key", ["update_type", "ref_doctype", "docname", "name", "creation"])
def test_a_row_missing_a_required_key_is_rejected_and_the_key_named(key):
	row = feed_row()
	del row[key]

	with pytest.raises(PayloadError, match=key):
		check_feed_row(row)


@pytest.mark.parametrize("key", ["ref_doctype", "docname", "creation"])
def test_a_row_with_a_blank_required_key_is_rejected(key):
	with pytest.raises(PayloadError, match="lacks"):
		check_feed_row(feed_row(**{key: ""}))


def test_every_missing_key_is_listed_at_once():
	with pytest.raises(PayloadError) as caught:
		check_feed_row({"update_type": "Create", "data": "{}"})

	assert "ref_doctype, docname, name, creation" in str(caught.value)


@pytest.mark.parametrize("row", [None, [], "a row", 3])
def test_a_row_that_is_not_an_object_is_rejected(row):
	with pytest.raises(PayloadError, match="must be an object"):
		check_feed_row(row)


@pytest.mark.parametrize("update_type", ["Create", "Update"])
@pytest.mark.parametrize("data", [None, "[1, 2]", '"text"', "3", [1, 2]])
def test_create_and_update_rows_must_carry_an_object(update_type, data):
	with pytest.raises(PayloadError, match=f"a {update_type} row must carry an object"):
		check_feed_row(feed_row(update_type=update_type, data=data))


def test_a_row_with_garbage_data_text_is_rejected():
	with pytest.raises(PayloadError, match="not valid JSON"):
		check_feed_row(feed_row(data="{oops"))


def test_an_update_row_missing_diff_keys_is_normalised_to_all_four():
	checked = check_feed_row(feed_row(update_type="Update", data=json.dumps({"changed": {"title": "New"}})))

	assert checked["data"] == {"added": {}, "changed": {"title": "New"}, "removed": {}, "row_changed": {}}


def test_an_update_row_with_a_list_where_a_diff_key_needs_an_object_is_rejected():
	data = json.dumps({"changed": {}, "added": [{"name": "row"}], "removed": {}, "row_changed": {}})

	with pytest.raises(PayloadError, match="'added' must hold an object"):
		check_feed_row(feed_row(update_type="Update", data=data))


def test_a_create_snapshot_is_not_given_diff_keys():
	checked = check_feed_row(feed_row())

	assert not set(DIFF_KEYS) & set(checked["data"])


@pytest.mark.parametrize("data", [None, "null", json.dumps({"doctype": "Note", "name": "NOTE-0001"})])
def test_a_delete_row_carries_no_data(data):
	checked = check_feed_row(feed_row(update_type="Delete", data=data))

	assert checked["data"] is None


# ---------------------------------------------------------------------------
# normalise_diff
# ---------------------------------------------------------------------------


def test_normalise_diff_fills_missing_and_null_keys_with_empty_objects():
	clean = normalise_diff({"changed": None, "removed": {"items": ["r1"]}})

	assert clean == {"added": {}, "changed": {}, "removed": {"items": ["r1"]}, "row_changed": {}}


def test_normalise_diff_keeps_unknown_keys_from_newer_producers():
	clean = normalise_diff({"changed": {"a": 1}, "extra": [1]})

	assert clean["extra"] == [1]
	assert clean["changed"] == {"a": 1}


@pytest.mark.parametrize("key", DIFF_KEYS)
def test_normalise_diff_rejects_a_diff_key_holding_something_other_than_an_object(key):
	with pytest.raises(PayloadError, match=repr(key)):
		normalise_diff({key: "not an object"})


# ---------------------------------------------------------------------------
# check_feed_page
# ---------------------------------------------------------------------------


def test_a_feed_page_keeps_its_logs_for_checking_one_by_one_and_reads_its_cursor_as_a_number():
	logs = [feed_row(sequence=5), feed_row(update_type="Delete", data=None, name=6, sequence=6)]

	checked = check_feed_page({"logs": logs, "next_cursor": "6", "has_more": 1})

	assert checked["next_cursor"] == 6
	assert checked["has_more"] is True
	assert checked["logs"] == logs
	assert [check_feed_row(log)["name"] for log in checked["logs"]] == ["a1b2c3d4e5", "6"]


def test_an_empty_last_page_defaults_to_cursor_zero_and_no_more():
	checked = check_feed_page({"logs": []})

	assert checked == {"logs": [], "next_cursor": 0, "has_more": False}


@pytest.mark.parametrize("page", [None, [], "page", {"logs": None}, {"logs": {"a": 1}}, {}])
def test_a_page_without_a_list_of_logs_is_rejected(page):
	with pytest.raises(PayloadError, match="list of logs"):
		check_feed_page(page)


@pytest.mark.parametrize("cursor", ["abc", [1], {"a": 1}])
def test_a_page_with_a_non_numeric_cursor_is_rejected(cursor):
	with pytest.raises(PayloadError, match="cursor is not a number"):
		check_feed_page({"logs": [], "next_cursor": cursor})


def test_one_bad_log_does_not_reject_the_page_it_is_on():
	"""A bad log fails alone (as a Failed sync log) instead of stalling the stream at its page."""
	page = {"logs": [feed_row(), feed_row(update_type="Teleport")], "next_cursor": 2}

	checked = check_feed_page(page)

	assert len(checked["logs"]) == 2
	with pytest.raises(PayloadError, match="Teleport"):
		check_feed_row(checked["logs"][1])


@pytest.mark.parametrize("cursor", [-1, 2**31, "1e99", 1.5, True])
def test_a_page_with_a_cursor_out_of_range_or_not_whole_is_rejected(cursor):
	with pytest.raises(PayloadError, match="cursor"):
		check_feed_page({"logs": [], "next_cursor": cursor})


@pytest.mark.parametrize("key", ["ref_doctype", "docname", "name"])
@pytest.mark.parametrize("value", [{"a": 1}, ["NOTE-0001"], 1.5, True])
def test_a_feed_row_whose_names_are_not_text_is_rejected(key, value):
	with pytest.raises(PayloadError, match="is not text"):
		check_feed_row(feed_row(**{key: value}))


@pytest.mark.parametrize("key", ["ref_doctype", "docname", "name"])
def test_a_feed_row_whose_names_do_not_fit_a_name_column_is_rejected(key):
	with pytest.raises(PayloadError, match="longer than 140"):
		check_feed_row(feed_row(**{key: "x" * 141}))


def test_a_feed_row_with_a_whole_number_docname_keeps_it_as_text():
	assert check_feed_row(feed_row(docname=42))["docname"] == "42"


@pytest.mark.parametrize("sequence", [-3, 2**40, "many", {"n": 1}])
def test_a_feed_row_with_a_bad_sequence_is_rejected(sequence):
	with pytest.raises(PayloadError, match="sequence"):
		check_feed_row(feed_row(sequence=sequence))


def test_a_huge_unknown_update_type_is_quoted_shortly():
	with pytest.raises(PayloadError) as raised:
		check_feed_row(feed_row(update_type="x" * 10_000))

	assert len(str(raised.value)) < 120


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------


def test_build_registration_double_encodes_consumer_doctypes_like_the_original():
	data = build_registration(
		"https://consumer.example.com",
		[{"doctype": "Note", "condition": ""}, {"doctype": "ToDo", "condition": "doc.status == 'Open'"}],
		"sync@example.com",
		"key",
		"secret",
	)

	assert isinstance(data["consumer_doctypes"], str)
	assert json.loads(data["consumer_doctypes"]) == [
		{"doctype": "Note", "condition": None},
		{"doctype": "ToDo", "condition": "doc.status == 'Open'"},
	]
	assert data["event_consumer"] == "https://consumer.example.com"
	assert (data["user"], data["api_key"], data["api_secret"]) == ("sync@example.com", "key", "secret")


def test_build_registration_sends_only_doctype_and_condition_for_each_subscription():
	data = build_registration("https://c.example", [{"doctype": "Note", "status": "Approved"}], "u", "k", "s")

	assert json.loads(data["consumer_doctypes"]) == [{"doctype": "Note", "condition": None}]


def test_a_built_registration_survives_the_wire_and_parses_back():
	subscriptions = [{"doctype": "Note", "condition": "doc.public"}, {"doctype": "ToDo"}]
	data = build_registration("https://consumer.example.com/", subscriptions, "sync@example.com", "k", "s")

	wire = json.dumps(data)
	parsed = parse_registration(wire)

	assert parsed == {
		"event_consumer": "https://consumer.example.com",
		"user": "sync@example.com",
		"api_key": "k",
		"api_secret": "s",
		"consumer_doctypes": [
			{"doctype": "Note", "condition": "doc.public"},
			{"doctype": "ToDo", "condition": None},
		],
	}


def test_parse_registration_also_accepts_an_already_decoded_doctype_list():
	data = registration(consumer_doctypes=[{"doctype": "Note", "condition": "  doc.public  "}])

	parsed = parse_registration(data)

	assert parsed["consumer_doctypes"] == [{"doctype": "Note", "condition": "doc.public"}]


def test_parse_registration_treats_a_blank_condition_as_none():
	data = registration(consumer_doctypes=json.dumps([{"doctype": "Note", "condition": "   "}]))

	assert parse_registration(data)["consumer_doctypes"] == [{"doctype": "Note", "condition": None}]


def test_parse_registration_with_no_doctypes_yields_an_empty_list():
	assert parse_registration(registration(consumer_doctypes=None))["consumer_doctypes"] == []


def test_parse_registration_strips_trailing_slashes_from_the_consumer_url():
	assert parse_registration(registration(event_consumer="https://c.example.com//"))["event_consumer"] == (
		"https://c.example.com"
	)


@pytest.mark.parametrize("key", ["api_key", "api_secret", "user", "event_consumer"])
def test_parse_registration_rejects_missing_credentials(key):
	data = registration()
	del data[key]

	with pytest.raises(PayloadError, match=f"lacks {key}"):
		parse_registration(data)


@pytest.mark.parametrize("value", ["", None, 12345, ["secret"]])
def test_parse_registration_rejects_a_blank_or_non_text_secret(value):
	with pytest.raises(PayloadError, match="lacks api_secret"):
		parse_registration(registration(api_secret=value))


@pytest.mark.parametrize("data", ["[1, 2]", "null", [], "{broken"])
def test_parse_registration_rejects_data_that_is_not_an_object(data):
	with pytest.raises(PayloadError):
		parse_registration(data)


@pytest.mark.parametrize(
	"consumer_doctypes",
	[
		'{"doctype": "Note"}',
		json.dumps([{"condition": "doc.x"}]),
		json.dumps([{"doctype": ""}]),
		json.dumps(["Note"]),
		json.dumps([{"doctype": 5}]),
		json.dumps([{"doctype": "Note", "condition": 5}]),
		json.dumps([{"doctype": "Note", "condition": ["doc.x"]}]),
		"not json",
	],
	ids=[
		"object_not_list",
		"no_doctype",
		"blank_doctype",
		"bare_string",
		"numeric_doctype",
		"numeric_condition",
		"list_condition",
		"garbage",
	],
)
def test_parse_registration_rejects_malformed_consumer_doctypes(consumer_doctypes):
	with pytest.raises(PayloadError):
		parse_registration(registration(consumer_doctypes=consumer_doctypes))


# ---------------------------------------------------------------------------
# normalise_site_url
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
	("url", "expected"),
	[
		("https://producer.example.com/", "https://producer.example.com"),
		("https://producer.example.com///", "https://producer.example.com"),
		("http://localhost:8000", "http://localhost:8000"),
		("  https://producer.example.com/  ", "https://producer.example.com"),
		("https://[::1]:8443/", "https://[::1]:8443"),
		("HTTPS://Producer.example.com", "https://Producer.example.com"),
	],
)
def test_a_site_url_is_accepted_with_trailing_slashes_and_whitespace_stripped(url, expected):
	assert normalise_site_url(url) == expected


@pytest.mark.parametrize(
	"url",
	[
		"ftp://producer.example.com",
		"producer.example.com",
		"localhost:8000",
		"//producer.example.com",
		"http://",
		"https:///path-only",
		"javascript:alert(1)",
		"",
		None,
	],
)
def test_a_site_url_that_is_not_http_or_https_with_a_host_is_rejected(url):
	with pytest.raises(PayloadError, match="is not an http or https URL"):
		normalise_site_url(url)


@pytest.mark.parametrize(
	"url",
	[
		"https://producer.example.com/?cmd=x",
		"https://producer.example.com?a=1",
		"https://p.example.com/#frag",
	],
)
def test_a_site_url_with_a_query_or_fragment_is_rejected(url):
	with pytest.raises(PayloadError, match="query or fragment"):
		normalise_site_url(url)


@pytest.mark.parametrize(
	"url",
	[
		"https://example.com/bench/site/",
		"https://example.com/api/method/x",
		"http://es-consumer.localhost:8000/app",
	],
)
def test_a_site_url_with_a_path_is_rejected(url):
	with pytest.raises(PayloadError, match="without a path"):
		normalise_site_url(url)


@pytest.mark.parametrize(
	"url",
	[
		"https://user:secret@producer.example.com",
		"https://user@producer.example.com",
		"http://evil.example.com@producer.example.com",
	],
)
def test_a_site_url_with_credentials_is_rejected(url):
	with pytest.raises(PayloadError, match="user name or password"):
		normalise_site_url(url)


@pytest.mark.parametrize(
	"url",
	["https://producer.example.com:99999", "https://producer.example.com:port", "http://a b.example.com"],
)
def test_a_site_url_with_a_bad_port_or_spaces_is_rejected(url):
	with pytest.raises(PayloadError):
		normalise_site_url(url)


# ---------------------------------------------------------------------------
# parse_name_list
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
	("value", "expected"),
	[
		('["a", "b"]', ["a", "b"]),
		(["a", 7], ["a", "7"]),
		('"ToDo"', ["ToDo"]),
		("[]", []),
		((), []),
	],
)
def test_a_name_list_is_read_from_a_list_or_json_text(value, expected):
	assert parse_name_list(value, "names", 10) == expected


@pytest.mark.parametrize(
	("value", "message"),
	[
		("[not json", "not valid JSON"),
		('{"a": 1}', "must be a list"),
		("5", "must be a list"),
		(None, "must be a list"),
		('["a", null]', "non-empty names"),
		('["a", ""]', "non-empty names"),
		('[["a"]]', "non-empty names"),
		("[true]", "non-empty names"),
		(["x"] * 11, "at most 10"),
	],
)
def test_a_malformed_name_list_is_refused_with_a_reason(value, message):
	with pytest.raises(PayloadError, match=message):
		parse_name_list(value, "names", 10)


@pytest.mark.parametrize("name", ["nul\x00name", "lone\ud800surrogate"])
def test_a_name_no_database_can_store_is_refused(name):
	assert not is_storable(name)
	with pytest.raises(PayloadError, match="NUL character or invalid Unicode"):
		check_name(name, "the document name")
	with pytest.raises(PayloadError):
		check_feed_row(feed_row(docname=name))
	with pytest.raises(PayloadError):
		parse_name_list([name], "names", 10)


def test_a_peers_text_is_made_storable_and_ordinary_text_is_left_alone():
	assert storable_text("bad\x00text \ud800!") == "badtext ?!"
	assert storable_text("Grüße, 東京") == "Grüße, 東京"
	assert storable_text(None) is None
	assert is_storable(storable_text("\udfff\x00"))
