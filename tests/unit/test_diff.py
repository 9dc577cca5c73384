"""Scenarios for computing and applying the Update diff of an Event Update Log (no frappe needed)."""

import copy
import datetime
from decimal import Decimal

import pytest

from event_streaming.streaming.diff import (
	DIFF_KEYS,
	Schema,
	apply_diff,
	compute_diff,
	empty_diff,
	is_empty,
	normalise,
	strip_snapshot,
	strip_unreplicated,
	values_differ,
)

ITEM_FIELDS = {"item_code": "Data", "qty": "Float", "api_token": "Password", "due": "Date"}
NOTE_FIELDS = {"line": "Data"}

SCHEMA = Schema(
	fields={
		"title": "Data",
		"notes": "Text",
		"qty": "Int",
		"is_active": "Check",
		"rate": "Currency",
		"posting_date": "Date",
		"posted_at": "Datetime",
		"starts_at": "Time",
		"length": "Duration",
		"secret": "Password",
	},
	tables={"items": ITEM_FIELDS, "notes_table": NOTE_FIELDS},
)


def item(name, idx, item_code="ITEM", qty=1.0, api_token="****", **extra):
	return {
		"name": name,
		"idx": idx,
		"doctype": "Order Item",
		"parent": "ORD-1",
		"item_code": item_code,
		"qty": qty,
		"api_token": api_token,
		**extra,
	}


def make_doc(**overrides):
	doc = {
		"doctype": "Order",
		"name": "ORD-1",
		"docstatus": 0,
		"modified": "2024-03-01 10:00:00.000000",
		"title": "First order",
		"notes": "Deliver before noon",
		"qty": 3,
		"is_active": 1,
		"rate": 10.5,
		"posting_date": datetime.date(2024, 3, 1),
		"posted_at": datetime.datetime(2024, 3, 1, 10, 15),
		"starts_at": datetime.timedelta(hours=9),
		"length": Decimal("3600.000000000"),
		"secret": "*****",
		"items": [item("row-a", 1, "APPLE"), item("row-b", 2, "BANANA"), item("row-c", 3, "CHERRY")],
		"notes_table": [],
	}
	doc.update(overrides)
	return doc


# ---------------------------------------------------------------------------
# Scalar fields
# ---------------------------------------------------------------------------


def test_changed_scalar_field_is_reported_with_its_new_value():
	old = make_doc()
	new = make_doc(title="Second order")

	diff = compute_diff(old, new, SCHEMA)

	assert diff == {"added": {}, "changed": {"title": "Second order"}, "removed": {}, "row_changed": {}}


def test_identical_documents_produce_no_diff():
	assert compute_diff(make_doc(), make_doc(), SCHEMA) is None


def test_several_scalar_changes_are_all_reported_and_nothing_else():
	new = make_doc(title="Renamed", qty=7, rate=12.25)

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["changed"] == {"title": "Renamed", "qty": 7, "rate": 12.25}


def test_the_new_value_is_reported_raw_not_normalised():
	new = make_doc(posting_date="2024-04-02")

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["changed"] == {"posting_date": "2024-04-02"}


def test_clearing_a_field_reports_none_as_the_new_value():
	diff = compute_diff(make_doc(), make_doc(notes=None), SCHEMA)

	assert diff["changed"] == {"notes": None}


def test_a_field_missing_from_the_new_document_counts_as_cleared():
	new = make_doc()
	del new["title"]

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["changed"] == {"title": None}


def test_fields_outside_the_schema_are_not_compared():
	new = make_doc(modified="2024-03-02 08:00:00.000000", _seen='["Administrator"]')

	assert compute_diff(make_doc(), new, SCHEMA) is None


def test_a_date_and_its_iso_string_are_not_a_change():
	old = make_doc(posting_date=datetime.date(2024, 3, 1))
	new = make_doc(posting_date="2024-03-01")

	assert compute_diff(old, new, SCHEMA) is None
	assert compute_diff(new, old, SCHEMA) is None


def test_a_date_field_holding_a_datetime_compares_by_its_date():
	old = make_doc(posting_date=datetime.datetime(2024, 3, 1, 0, 0))
	new = make_doc(posting_date="2024-03-01 00:00:00")

	assert compute_diff(old, new, SCHEMA) is None


@pytest.mark.parametrize(
	"text",
	["2024-03-01 10:15:00", "2024-03-01T10:15:00", "2024-03-01 10:15:00.000000", " 2024-03-01 10:15:00 "],
)
def test_a_datetime_and_its_string_forms_are_not_a_change(text):
	old = make_doc(posted_at=datetime.datetime(2024, 3, 1, 10, 15))
	new = make_doc(posted_at=text)

	assert compute_diff(old, new, SCHEMA) is None


def test_a_timezone_aware_datetime_and_its_iso_string_are_not_a_change():
	moment = datetime.datetime(2024, 3, 1, 10, 15, tzinfo=datetime.timezone.utc)

	assert compute_diff(make_doc(posted_at=moment), make_doc(posted_at=moment.isoformat()), SCHEMA) is None


def test_a_datetime_one_microsecond_later_is_a_change():
	new = make_doc(posted_at="2024-03-01 10:15:00.000001")

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["changed"] == {"posted_at": "2024-03-01 10:15:00.000001"}


@pytest.mark.parametrize("fieldname", ["qty", "is_active"])
def test_one_and_the_string_one_are_not_a_change_for_int_and_check(fieldname):
	old = make_doc(**{fieldname: 1})
	new = make_doc(**{fieldname: "1"})

	assert compute_diff(old, new, SCHEMA) is None


@pytest.mark.parametrize("fieldname", ["qty", "is_active"])
@pytest.mark.parametrize("blank", [None, ""])
def test_zero_and_blank_are_not_a_change_for_int_and_check(fieldname, blank):
	old = make_doc(**{fieldname: 0})
	new = make_doc(**{fieldname: blank})

	assert compute_diff(old, new, SCHEMA) is None
	assert compute_diff(new, old, SCHEMA) is None


def test_true_and_one_are_the_same_check_value():
	assert compute_diff(make_doc(is_active=True), make_doc(is_active=1), SCHEMA) is None


def test_ticking_a_check_box_is_a_change():
	diff = compute_diff(make_doc(is_active=0), make_doc(is_active=1), SCHEMA)

	assert diff["changed"] == {"is_active": 1}


def test_an_int_going_from_none_to_five_is_a_change():
	diff = compute_diff(make_doc(qty=None), make_doc(qty=5), SCHEMA)

	assert diff["changed"] == {"qty": 5}


@pytest.mark.parametrize("fieldname", ["title", "notes", "posting_date", "posted_at", "starts_at"])
def test_none_and_empty_string_are_not_a_change(fieldname):
	old = make_doc(**{fieldname: None})
	new = make_doc(**{fieldname: ""})

	assert compute_diff(old, new, SCHEMA) is None


def test_currency_rounding_noise_and_decimal_text_are_not_a_change():
	assert compute_diff(make_doc(rate=0.1 + 0.2), make_doc(rate=0.3), SCHEMA) is None
	assert compute_diff(make_doc(rate=Decimal("10.50")), make_doc(rate="10.5"), SCHEMA) is None
	assert compute_diff(make_doc(rate=None), make_doc(rate=0.0), SCHEMA) is None


def test_a_real_currency_change_is_reported():
	diff = compute_diff(make_doc(rate=10.5), make_doc(rate=10.51), SCHEMA)

	assert diff["changed"] == {"rate": 10.51}


@pytest.mark.parametrize(
	"form_value", ["09:00:00", "9:00:00", "09:00", "09:00:00.000000", datetime.time(9, 0)]
)
def test_a_time_from_the_database_and_from_a_form_are_not_a_change(form_value):
	old = make_doc(starts_at=datetime.timedelta(hours=9))
	new = make_doc(starts_at=form_value)

	assert compute_diff(old, new, SCHEMA) is None


def test_a_changed_time_is_reported():
	diff = compute_diff(make_doc(), make_doc(starts_at="09:30:00"), SCHEMA)

	assert diff["changed"] == {"starts_at": "09:30:00"}


def test_a_duration_in_decimal_seconds_and_as_an_integer_are_not_a_change():
	old = make_doc(length=Decimal("3600.000000000"))
	new = make_doc(length=3600)

	assert compute_diff(old, new, SCHEMA) is None
	assert compute_diff(old, make_doc(length=3660), SCHEMA)["changed"] == {"length": 3660}


def test_unparseable_values_are_compared_as_they_are():
	assert values_differ("not a date", "not a date", "Date") is False
	assert values_differ("not a date", "still not a date", "Date") is True
	assert values_differ("abc", "abc", "Int") is False
	assert values_differ("25:99", "25:99", "Time") is False


def test_normalise_never_treats_text_fields_loosely():
	assert values_differ(1, "1", "Data") is True
	assert normalise("  padded  ", "Data") == "  padded  "


# ---------------------------------------------------------------------------
# docstatus
# ---------------------------------------------------------------------------


def test_submitting_reports_docstatus_in_changed():
	diff = compute_diff(make_doc(docstatus=0), make_doc(docstatus=1), SCHEMA)

	assert diff["changed"] == {"docstatus": 1}
	assert set(diff) == set(DIFF_KEYS)


def test_docstatus_is_reported_as_an_integer_even_when_sent_as_text():
	diff = compute_diff(make_doc(docstatus="1"), make_doc(docstatus="2"), SCHEMA)

	assert diff["changed"] == {"docstatus": 2}


def test_docstatus_zero_and_missing_are_the_same_draft():
	old = make_doc()
	del old["docstatus"]

	assert compute_diff(old, make_doc(docstatus=0), SCHEMA) is None
	assert compute_diff(make_doc(docstatus="0"), make_doc(docstatus=0), SCHEMA) is None


def test_docstatus_is_left_out_when_the_caller_says_it_did_not_change():
	diff = compute_diff(make_doc(docstatus=0), make_doc(docstatus=1), SCHEMA, docstatus_changed=False)

	assert diff is None


# ---------------------------------------------------------------------------
# Password fields
# ---------------------------------------------------------------------------


def test_a_password_change_alone_produces_no_diff():
	assert compute_diff(make_doc(secret="old-mask"), make_doc(secret="new-secret"), SCHEMA) is None


def test_password_fields_never_appear_in_changed_even_beside_real_changes():
	new = make_doc(secret="new-secret", title="Changed")

	diff = compute_diff(make_doc(secret=None), new, SCHEMA)

	assert diff["changed"] == {"title": "Changed"}
	assert "secret" not in diff["changed"]


def test_a_password_change_in_a_child_row_is_not_reported():
	new = make_doc(
		items=[
			item("row-a", 1, "APPLE", api_token="new"),
			item("row-b", 2, "BANANA"),
			item("row-c", 3, "CHERRY"),
		]
	)

	assert compute_diff(make_doc(), new, SCHEMA) is None


# ---------------------------------------------------------------------------
# Child tables
# ---------------------------------------------------------------------------


def test_an_added_child_row_is_reported_whole_without_password_fields():
	added = item("row-d", 4, "DATE", qty=2.0, api_token="plain-secret", description="Medjool")
	new = make_doc(items=[*make_doc()["items"], added])

	diff = compute_diff(make_doc(), new, SCHEMA)

	expected_row = {key: value for key, value in added.items() if key != "api_token"}
	assert diff["added"] == {"items": [expected_row]}
	assert diff["changed"] == {} and diff["removed"] == {} and diff["row_changed"] == {}


def test_adding_a_row_does_not_strip_the_password_from_the_callers_document():
	added = item("row-d", 4, api_token="plain-secret")
	new = make_doc(items=[*make_doc()["items"], added])

	compute_diff(make_doc(), new, SCHEMA)

	assert added["api_token"] == "plain-secret"


def test_a_new_row_without_a_name_is_reported_as_added():
	unsaved = item(None, 4, "DATE")
	new = make_doc(items=[*make_doc()["items"], unsaved])

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert [row["item_code"] for row in diff["added"]["items"]] == ["DATE"]


def test_a_removed_child_row_is_listed_by_name():
	old = make_doc()
	new = make_doc(items=[item("row-a", 1, "APPLE"), item("row-b", 2, "BANANA")])

	diff = compute_diff(old, new, SCHEMA)

	assert diff["removed"] == {"items": ["row-c"]}
	assert diff["added"] == {} and diff["row_changed"] == {}


def test_clearing_a_whole_table_lists_every_row_as_removed():
	diff = compute_diff(make_doc(), make_doc(items=[]), SCHEMA)

	assert diff["removed"] == {"items": ["row-a", "row-b", "row-c"]}


def test_a_table_missing_from_the_new_document_means_all_rows_were_removed():
	new = make_doc()
	del new["items"]

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["removed"] == {"items": ["row-a", "row-b", "row-c"]}


def test_a_table_missing_from_the_old_document_means_all_rows_were_added():
	old = make_doc(items=None)

	diff = compute_diff(old, make_doc(), SCHEMA)

	assert [row["name"] for row in diff["added"]["items"]] == ["row-a", "row-b", "row-c"]


def test_a_changed_child_row_lists_only_its_changed_fields_and_its_name():
	new = make_doc(
		items=[item("row-a", 1, "APPLE"), item("row-b", 2, "BLUEBERRY", qty=5.0), item("row-c", 3, "CHERRY")]
	)

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["row_changed"] == {"items": [{"item_code": "BLUEBERRY", "qty": 5.0, "name": "row-b"}]}
	assert diff["added"] == {} and diff["removed"] == {} and diff["changed"] == {}


def test_child_fields_outside_the_child_schema_do_not_make_a_row_change():
	rows = make_doc()["items"]
	rows[0]["modified"] = "2030-01-01 00:00:00"

	assert compute_diff(make_doc(), make_doc(items=rows), SCHEMA) is None


def test_normalised_equal_child_values_are_not_a_row_change():
	rows = make_doc()["items"]
	rows[0]["qty"] = "1.0"
	rows[1]["due"] = None
	rows[1]["idx"] = "2"
	old = make_doc()
	old["items"][1]["due"] = ""

	assert compute_diff(old, make_doc(items=rows), SCHEMA) is None


def test_child_row_reorder_is_reported_as_new_idx():
	new = make_doc(items=[item("row-b", 1, "BANANA"), item("row-a", 2, "APPLE"), item("row-c", 3, "CHERRY")])

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["row_changed"] == {"items": [{"idx": 1, "name": "row-b"}, {"idx": 2, "name": "row-a"}]}
	assert diff["added"] == {} and diff["removed"] == {} and diff["changed"] == {}


def test_a_row_that_moved_and_changed_reports_both_the_field_and_the_idx():
	new = make_doc(items=[item("row-c", 1, "CORN"), item("row-a", 2, "APPLE"), item("row-b", 3, "BANANA")])

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["row_changed"]["items"][0] == {"item_code": "CORN", "idx": 1, "name": "row-c"}


def test_each_table_is_reported_under_its_own_fieldname():
	new = make_doc(
		items=[item("row-a", 1, "APPLE"), item("row-b", 2, "BANANA")],
		notes_table=[{"name": "note-1", "idx": 1, "line": "Fragile"}],
	)

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff["removed"] == {"items": ["row-c"]}
	assert diff["added"] == {"notes_table": [{"name": "note-1", "idx": 1, "line": "Fragile"}]}


def test_unchanged_rows_never_appear_in_the_diff():
	new = make_doc(
		items=[item("row-a", 1, "AVOCADO"), item("row-b", 2, "BANANA"), item("row-c", 3, "CHERRY")]
	)

	diff = compute_diff(make_doc(), new, SCHEMA)

	assert [change["name"] for change in diff["row_changed"]["items"]] == ["row-a"]


@pytest.mark.parametrize(
	"new",
	[
		pytest.param(make_doc(title="Other"), id="scalar"),
		pytest.param(make_doc(docstatus=1), id="docstatus"),
		pytest.param(make_doc(items=[*make_doc()["items"], item("row-d", 4)]), id="added"),
		pytest.param(make_doc(items=make_doc()["items"][:1]), id="removed"),
		pytest.param(
			make_doc(items=[item("row-a", 1, "X"), item("row-b", 2, "BANANA"), item("row-c", 3, "CHERRY")]),
			id="row_changed",
		),
	],
)
def test_every_returned_diff_carries_all_four_keys(new):
	diff = compute_diff(make_doc(), new, SCHEMA)

	assert diff is not None
	assert tuple(diff) == DIFF_KEYS
	assert all(isinstance(diff[key], dict) for key in DIFF_KEYS)


def test_computing_a_diff_leaves_both_documents_untouched():
	old, new = make_doc(), make_doc(title="X", items=[item("row-z", 1, api_token="s")])
	old_copy, new_copy = copy.deepcopy(old), copy.deepcopy(new)

	compute_diff(old, new, SCHEMA)

	assert old == old_copy and new == new_copy


# ---------------------------------------------------------------------------
# empty_diff / is_empty
# ---------------------------------------------------------------------------


def test_empty_diff_has_the_four_keys_and_is_fresh_each_time():
	first, second = empty_diff(), empty_diff()
	first["changed"]["title"] = "x"

	assert second == {"added": {}, "changed": {}, "removed": {}, "row_changed": {}}
	assert is_empty(second)
	assert not is_empty(first)


def test_is_empty_tolerates_a_diff_with_missing_keys():
	assert is_empty({})
	assert is_empty({"changed": {}})
	assert not is_empty({"removed": {"items": ["row-a"]}})


# ---------------------------------------------------------------------------
# strip_snapshot / strip_unreplicated
# ---------------------------------------------------------------------------


def test_strip_snapshot_removes_password_fields_from_the_parent_and_every_row():
	snapshot = make_doc(
		secret="hunter2", items=[item("row-a", 1, api_token="t1"), item("row-b", 2, api_token="t2")]
	)

	clean = strip_snapshot(snapshot, SCHEMA)

	assert "secret" not in clean
	assert all("api_token" not in row for row in clean["items"])
	assert clean["title"] == "First order"
	assert [row["item_code"] for row in clean["items"]] == ["ITEM", "ITEM"]
	assert clean["doctype"] == "Order" and clean["modified"] == snapshot["modified"]


def test_strip_snapshot_does_not_modify_the_original_snapshot():
	snapshot = make_doc(secret="hunter2", items=[item("row-a", 1, api_token="t1")])
	before = copy.deepcopy(snapshot)

	strip_snapshot(snapshot, SCHEMA)

	assert snapshot == before


def test_strip_snapshot_copes_with_absent_or_non_list_tables():
	snapshot = make_doc(notes_table=None)
	del snapshot["items"]

	clean = strip_snapshot(snapshot, SCHEMA)

	assert "items" not in clean
	assert clean["notes_table"] is None


def test_strip_unreplicated_keeps_keys_it_knows_nothing_about():
	row = {"name": "r", "api_token": "secret", "unknown": 1}

	assert strip_unreplicated(row, ITEM_FIELDS) == {"name": "r", "unknown": 1}


# ---------------------------------------------------------------------------
# apply_diff
# ---------------------------------------------------------------------------


def compared_view(doc, schema=SCHEMA):
	"""What a replica must agree on: normalised non-password fields, docstatus, and ordered rows."""
	view = {
		fieldname: normalise(doc.get(fieldname), fieldtype)
		for fieldname, fieldtype in schema.fields.items()
		if fieldtype != "Password"
	}
	view["docstatus"] = normalise(doc.get("docstatus"), "Int")
	for table, child_fields in schema.tables.items():
		view[table] = [
			{
				"name": row.get("name"),
				"idx": normalise(row.get("idx"), "Int"),
				**{
					fieldname: normalise(row.get(fieldname), fieldtype)
					for fieldname, fieldtype in child_fields.items()
					if fieldtype != "Password"
				},
			}
			for row in doc.get(table) or []
		]
	return view


ROUND_TRIP_CASES = {
	"scalar_change": make_doc(title="Changed", qty=9, posting_date="2024-05-05"),
	"submitted": make_doc(docstatus=1),
	"field_cleared": make_doc(notes=None, rate=None),
	"row_added_at_end": make_doc(items=[*make_doc()["items"], item("row-d", 4, "DATE")]),
	"row_inserted_in_middle": make_doc(
		items=[
			item("row-a", 1, "APPLE"),
			item("row-x", 2, "XIGUA"),
			item("row-b", 3, "BANANA"),
			item("row-c", 4, "CHERRY"),
		]
	),
	"row_removed_and_renumbered": make_doc(items=[item("row-a", 1, "APPLE"), item("row-c", 2, "CHERRY")]),
	"row_changed": make_doc(
		items=[item("row-a", 1, "APPLE", qty=4.0), item("row-b", 2, "BANANA"), item("row-c", 3, "CHERRY")]
	),
	"rows_reversed": make_doc(
		items=[item("row-c", 1, "CHERRY"), item("row-b", 2, "BANANA"), item("row-a", 3, "APPLE")]
	),
	"table_cleared": make_doc(items=[]),
	"everything_at_once": make_doc(
		title="Everything",
		docstatus=1,
		items=[item("row-e", 1, "ELDER"), item("row-c", 2, "CORN", qty=8.0), item("row-a", 3, "APPLE")],
		notes_table=[{"name": "note-1", "idx": 1, "line": "Handle with care"}],
	),
}


@pytest.mark.parametrize("new", list(ROUND_TRIP_CASES.values()), ids=list(ROUND_TRIP_CASES))
def test_applying_the_computed_diff_to_the_old_document_reproduces_the_new_one(new):
	old = make_doc()

	diff = compute_diff(old, new, SCHEMA)
	replayed = apply_diff(old, diff)

	assert diff is not None
	assert compared_view(replayed) == compared_view(new)


def test_applying_a_diff_keeps_the_old_password_rather_than_copying_the_new_one():
	old = make_doc(secret="kept", title="a")
	new = make_doc(secret="leaked", title="b")

	replayed = apply_diff(old, compute_diff(old, new, SCHEMA))

	assert replayed["secret"] == "kept"
	assert replayed["title"] == "b"


def test_apply_diff_ignores_the_removal_of_a_row_that_is_already_gone():
	target = make_doc(items=[item("row-a", 1, "APPLE")])
	diff = {**empty_diff(), "removed": {"items": ["row-c"]}}

	replayed = apply_diff(target, diff)

	assert [row["name"] for row in replayed["items"]] == ["row-a"]


def test_apply_diff_ignores_a_removal_for_a_table_the_target_lacks():
	target = make_doc()
	del target["items"]

	replayed = apply_diff(target, {**empty_diff(), "removed": {"items": ["row-a"]}})

	assert replayed.get("items") in (None, [])


def test_apply_diff_ignores_a_change_to_a_row_that_is_missing():
	target = make_doc(items=[item("row-a", 1, "APPLE")])
	diff = {**empty_diff(), "row_changed": {"items": [{"name": "row-zzz", "item_code": "GHOST"}]}}

	replayed = apply_diff(target, diff)

	assert replayed["items"] == target["items"]


def test_apply_diff_ignores_a_row_change_for_a_table_the_target_lacks():
	target = {"name": "ORD-1", "title": "No tables loaded"}
	diff = {**empty_diff(), "row_changed": {"items": [{"name": "row-a", "idx": 2}]}}

	replayed = apply_diff(target, diff)

	assert replayed == target


def test_replaying_the_same_diff_twice_does_not_duplicate_added_rows():
	old = make_doc()
	diff = compute_diff(old, ROUND_TRIP_CASES["row_added_at_end"], SCHEMA)

	once = apply_diff(old, diff)
	twice = apply_diff(once, diff)

	assert [row["name"] for row in twice["items"]] == ["row-a", "row-b", "row-c", "row-d"]
	assert compared_view(twice) == compared_view(once)


def test_added_rows_land_in_idx_order_not_at_the_end():
	target = make_doc(items=[item("row-a", 1), item("row-b", 3)])
	diff = {**empty_diff(), "added": {"items": [item("row-new", 2)]}}

	replayed = apply_diff(target, diff)

	assert [row["name"] for row in replayed["items"]] == ["row-a", "row-new", "row-b"]


def test_apply_diff_accepts_a_diff_with_only_some_keys():
	replayed = apply_diff(make_doc(), {"changed": {"title": "Partial"}})

	assert replayed["title"] == "Partial"
	assert replayed["items"] == make_doc()["items"]


def test_apply_diff_does_not_mutate_the_target_or_its_rows():
	target = make_doc()
	before = copy.deepcopy(target)
	diff = compute_diff(target, ROUND_TRIP_CASES["everything_at_once"], SCHEMA)

	apply_diff(target, diff)

	assert target == before


def test_apply_diff_does_not_share_added_rows_with_the_diff():
	diff = {**empty_diff(), "added": {"items": [item("row-d", 4)]}}

	replayed = apply_diff(make_doc(), diff)
	replayed["items"][-1]["item_code"] = "MUTATED"

	assert diff["added"]["items"][0]["item_code"] == "ITEM"
