"""Scenarios for rewriting remote dicts and diffs into local fieldnames (no frappe needed)."""

import pytest

from event_streaming.streaming.field_mapping import (
	CHILD_TABLE,
	CREATE,
	DOCUMENT,
	UPDATE,
	MappingRuleError,
	Rule,
	UnmappedTableError,
	document_rules_read,
	evaluate_filters,
	is_missing,
	map_child_row,
	map_diff,
	map_values,
	parse_filters,
)

TODO_FROM_NOTE = [Rule(local="description", remote="content")]


def fail_evaluate(expression, doc):
	raise AssertionError("no eval: expected")


class TestMapValues:
	def test_mapped_field_is_renamed_and_the_remote_key_dropped(self):
		result = map_values({"name": "N1", "content": "hello", "title": "T"}, TODO_FROM_NOTE)
		assert result == {"name": "N1", "description": "hello", "title": "T"}

	def test_unmapped_fields_pass_through_unchanged(self):
		remote = {"name": "N1", "docstatus": 0, "public": 1}
		assert map_values(remote, []) == remote

	def test_two_local_fields_read_one_remote_field(self):
		rules = [Rule(local="description", remote="content"), Rule(local="summary", remote="content")]
		result = map_values({"content": "x"}, rules)
		assert result == {"description": "x", "summary": "x"}

	def test_a_field_read_and_written_under_the_same_name_is_kept(self):
		rules = [Rule(local="title", remote="title"), Rule(local="subject", remote="title")]
		assert map_values({"title": "T"}, rules) == {"title": "T", "subject": "T"}

	def test_swapped_fields_read_the_original_values(self):
		rules = [Rule(local="a", remote="b"), Rule(local="b", remote="a")]
		assert map_values({"a": 1, "b": 2}, rules) == {"a": 2, "b": 1}

	def test_input_is_not_modified(self):
		remote = {"content": "x"}
		map_values(remote, TODO_FROM_NOTE)
		assert remote == {"content": "x"}

	@pytest.mark.parametrize("missing", [None, "", []])
	def test_default_applies_when_the_remote_value_is_missing(self, missing):
		rules = [Rule(local="status", remote="state", default="Open")]
		assert map_values({"state": missing}, rules) == {"status": "Open"}
		assert map_values({}, rules) == {"status": "Open"}

	def test_zero_is_a_value_not_a_missing_one(self):
		rules = [Rule(local="is_public", remote="public", default="1")]
		assert map_values({"public": 0}, rules) == {"is_public": 0}

	def test_default_without_remote_field_applies_on_create_only(self):
		rules = [Rule(local="origin", default="producer")]
		assert map_values({}, rules, CREATE) == {"origin": "producer"}
		assert map_values({"x": 1}, rules, UPDATE) == {"x": 1}

	def test_missing_value_without_default_is_left_out_on_create(self):
		assert map_values({"content": None}, TODO_FROM_NOTE) == {}

	def test_update_touches_only_the_fields_in_the_diff(self):
		rules = [*TODO_FROM_NOTE, Rule(local="status", remote="state", default="Open")]
		assert map_values({"content": "new"}, rules, UPDATE) == {"description": "new"}

	def test_update_clearing_a_field_clears_it_or_sets_the_default(self):
		rules = [*TODO_FROM_NOTE, Rule(local="status", remote="state", default="Open")]
		assert map_values({"content": None, "state": ""}, rules, UPDATE) == {
			"description": None,
			"status": "Open",
		}

	def test_child_table_rows_go_through_the_callback_on_create(self):
		rules = [Rule(local="readers", remote="seen_by", kind=CHILD_TABLE, mapping="Reader")]
		calls = []

		def map_rows(rule, rows):
			calls.append((rule.mapping, rows))
			return [{"reader": row["user"]} for row in rows]

		result = map_values({"seen_by": [{"user": "a"}]}, rules, map_rows=map_rows)
		assert result == {"readers": [{"reader": "a"}]}
		assert calls == [("Reader", [{"user": "a"}])]

	def test_child_table_in_changed_is_ignored_on_update(self):
		rules = [Rule(local="readers", remote="seen_by", kind=CHILD_TABLE, mapping="Reader")]
		assert map_values({"seen_by": [{"user": "a"}]}, rules, UPDATE) == {}


class TestDocumentRows:
	RULE = Rule(local="role", remote="title", kind=DOCUMENT, mapping="Role", filters={"title": "title"})

	def test_link_is_set_to_the_resolved_local_name(self):
		seen = []

		def resolve(rule, value):
			seen.append((rule.local, value))
			return "Local Role"

		assert map_values({"title": "T"}, [self.RULE], resolve=resolve) == {"role": "Local Role"}
		assert seen == [("role", "T")]

	def test_default_is_used_when_the_remote_value_is_missing_and_nothing_is_resolved(self):
		rule = Rule(local="role", remote="title", kind=DOCUMENT, mapping="Role", filters={}, default="Guest")

		def resolve(rule, value):
			raise AssertionError("nothing to resolve")

		assert map_values({"title": ""}, [rule], resolve=resolve) == {"role": "Guest"}

	def test_default_is_not_overwritten_by_the_raw_remote_value(self):
		"""The original wrote the remote value over a Document row's default (W-C14)."""
		rule = Rule(local="role", remote="title", kind=DOCUMENT, mapping="Role", filters={}, default="Guest")
		assert map_values({"title": "T"}, [rule], resolve=lambda rule, value: None) == {"role": "Guest"}

	def test_unresolved_link_without_default_is_left_unset(self):
		assert map_values({"title": "T"}, [self.RULE], resolve=lambda rule, value: None) == {}

	def test_resolution_on_update_when_the_remote_field_changed(self):
		result = map_values({"title": "T2"}, [self.RULE], UPDATE, resolve=lambda rule, value: f"R-{value}")
		assert result == {"role": "R-T2"}

	def test_document_rules_read(self):
		assert document_rules_read([self.RULE], {"title": "x"})
		assert not document_rules_read([self.RULE], {"content": "x"})
		assert not document_rules_read(TODO_FROM_NOTE, {"content": "x"})


class TestFilters:
	def test_field_of_the_document_is_used_when_it_holds_a_value(self):
		assert evaluate_filters({"title": "title"}, {"title": "T"}, fail_evaluate) == {"title": "T"}

	def test_literal_when_the_document_has_no_such_value(self):
		spec = {"country": "India", "status": "status", "qty": 3}
		assert evaluate_filters(spec, {"status": ""}, fail_evaluate) == {
			"country": "India",
			"status": "status",
			"qty": 3,
		}

	def test_eval_spec_goes_to_the_evaluator_with_the_document(self):
		calls = []

		def evaluate(expression, doc):
			calls.append((expression, doc))
			return doc["title"].upper()

		assert evaluate_filters({"title": "eval:doc.title.upper()"}, {"title": "t"}, evaluate) == {
			"title": "T"
		}
		assert calls == [("doc.title.upper()", {"title": "t"})]

	def test_parse_filters_accepts_a_json_object(self):
		assert parse_filters('{"title": "title"}') == {"title": "title"}
		assert parse_filters({"a": 1}) == {"a": 1}

	@pytest.mark.parametrize("text", [None, "", "{not json", "[1, 2]", '"title"', "{}"])
	def test_parse_filters_refuses_anything_else(self, text):
		with pytest.raises(MappingRuleError):
			parse_filters(text)

	def test_is_missing(self):
		assert is_missing(None) and is_missing("") and is_missing([])
		assert not is_missing(0) and not is_missing("0") and not is_missing(False)


READER_RULES = [
	Rule(local="reader", remote="user", default="Administrator"),
	Rule(local="reader_copy", remote="user"),
	Rule(local="via", default="note"),
]
NOTE_RULES = [
	Rule(local="heading", remote="title"),
	Rule(local="readers", remote="seen_by", kind=CHILD_TABLE, mapping="Reader"),
]


class TestChildRows:
	def test_create_row_keeps_name_and_idx_sets_doctype_and_drops_parent_keys(self):
		row = {
			"name": "r1",
			"idx": 1,
			"user": "u@x",
			"doctype": "Note Seen By",
			"parent": "N1",
			"parenttype": "Note",
			"parentfield": "seen_by",
		}
		assert map_child_row(row, READER_RULES, "Reader") == {
			"name": "r1",
			"idx": 1,
			"reader": "u@x",
			"reader_copy": "u@x",
			"via": "note",
			"doctype": "Reader",
		}

	def test_update_row_maps_only_changed_fields(self):
		assert map_child_row({"name": "r1", "user": "v@x"}, READER_RULES, "Reader", UPDATE) == {
			"name": "r1",
			"reader": "v@x",
			"reader_copy": "v@x",
		}


def map_reader_row(rule, row, mode):
	return map_child_row(row, READER_RULES, "Reader", mode)


class TestMapDiff:
	def test_all_four_keys_are_mapped(self):
		diff = {
			"changed": {"title": "New"},
			"added": {"seen_by": [{"name": "r3", "idx": 3, "user": "c@x"}]},
			"removed": {"seen_by": ["r1"]},
			"row_changed": {"seen_by": [{"name": "r2", "user": "b@x"}]},
		}
		result = map_diff(
			diff, NOTE_RULES, lambda changed: map_values(changed, NOTE_RULES, UPDATE), map_reader_row
		)
		assert result == {
			"changed": {"heading": "New"},
			"added": {
				"readers": [
					{
						"name": "r3",
						"idx": 3,
						"reader": "c@x",
						"reader_copy": "c@x",
						"via": "note",
						"doctype": "Reader",
					}
				]
			},
			"removed": {"readers": ["r1"]},
			"row_changed": {"readers": [{"name": "r2", "reader": "b@x", "reader_copy": "b@x"}]},
		}

	def test_input_diff_is_not_modified(self):
		diff = {"changed": {"title": "x"}, "added": {}, "removed": {"seen_by": ["r1"]}, "row_changed": {}}
		map_diff(diff, NOTE_RULES, lambda changed: map_values(changed, NOTE_RULES, UPDATE), map_reader_row)
		assert diff == {
			"changed": {"title": "x"},
			"added": {},
			"removed": {"seen_by": ["r1"]},
			"row_changed": {},
		}

	@pytest.mark.parametrize("key", ["added", "removed", "row_changed"])
	def test_table_the_mapping_does_not_cover_raises(self, key):
		diff = {"changed": {}, "added": {}, "removed": {}, "row_changed": {}}
		diff[key] = {"attachments": [{"name": "a1"}] if key != "removed" else ["a1"]}
		with pytest.raises(UnmappedTableError) as raised:
			map_diff(diff, NOTE_RULES, dict, map_reader_row)
		assert raised.value.table == "attachments"

	def test_uncovered_table_with_the_same_name_here_passes_through(self):
		diff = {"changed": {}, "added": {}, "removed": {"links": ["l1"]}, "row_changed": {}}
		result = map_diff(diff, NOTE_RULES, dict, map_reader_row, local_tables={"links"})
		assert result["removed"] == {"links": ["l1"]}

	def test_empty_table_entries_are_ignored(self):
		diff = {"changed": {}, "added": {"attachments": []}, "removed": {}, "row_changed": {}}
		assert map_diff(diff, NOTE_RULES, dict, map_reader_row)["added"] == {}

	def test_other_keys_pass_through(self):
		diff = {"rename": {"old_name": "a", "new_name": "b"}, "changed": {}}
		result = map_diff(diff, NOTE_RULES, dict, map_reader_row)
		assert result["rename"] == {"old_name": "a", "new_name": "b"}
		assert result["added"] == {} and result["removed"] == {} and result["row_changed"] == {}

	def test_row_changed_of_an_uncovered_table_raises_even_with_other_tables_fine(self):
		diff = {
			"changed": {},
			"added": {"seen_by": [{"name": "r"}]},
			"row_changed": {"items": [{"name": "i"}]},
		}
		with pytest.raises(UnmappedTableError):
			map_diff(diff, NOTE_RULES, dict, map_reader_row)
