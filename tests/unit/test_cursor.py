"""Scenarios for the consumer's position in a producer's feed (v2 sequence, v1 creation watermark)."""

import datetime

import pytest

from event_streaming.streaming.cursor import (
	V1_OVERLAP,
	advance,
	format_timestamp,
	later_timestamp,
	parse_timestamp,
	v1_request_watermark,
)

# ---------------------------------------------------------------------------
# v2 sequence cursor
# ---------------------------------------------------------------------------


def test_advance_moves_forward_to_a_higher_sequence():
	assert advance(10, 11) == 11


def test_advance_never_goes_backwards_when_an_older_log_is_seen():
	assert advance(10, 3) == 10


def test_advance_stays_put_on_the_same_sequence():
	assert advance(10, 10) == 10


@pytest.mark.parametrize(
	("current", "candidate", "expected"), [(None, None, 0), (None, 4, 4), (7, None, 7), (0, 0, 0)]
)
def test_advance_treats_a_missing_cursor_as_zero(current, candidate, expected):
	assert advance(current, candidate) == expected


def test_advance_accepts_sequences_stored_as_text():
	assert advance("9", "12") == 12
	assert advance("12", "9") == 12


def test_replaying_a_shuffled_page_ends_on_the_highest_sequence():
	cursor = 100
	for sequence in [104, 101, 103, 99, 102]:
		cursor = advance(cursor, sequence)

	assert cursor == 104


def test_advance_always_returns_an_int():
	assert isinstance(advance("5", None), int)


# ---------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------


def test_parse_timestamp_reads_the_originals_text_forms():
	assert parse_timestamp("2024-03-01 10:00:00") == datetime.datetime(2024, 3, 1, 10, 0)
	assert parse_timestamp("2024-03-01 10:00:00.123456") == datetime.datetime(2024, 3, 1, 10, 0, 0, 123456)
	assert parse_timestamp(" 2024-03-01T10:00:00 ") == datetime.datetime(2024, 3, 1, 10, 0)


def test_parse_timestamp_passes_a_datetime_through():
	moment = datetime.datetime(2024, 3, 1, 10, 0)

	assert parse_timestamp(moment) is moment


@pytest.mark.parametrize("value", [None, "", "yesterday", "2024-13-45 10:00:00"])
def test_parse_timestamp_gives_none_for_blank_or_unparseable_text(value):
	assert parse_timestamp(value) is None


def test_format_timestamp_matches_str_of_datetime_with_and_without_microseconds():
	assert format_timestamp(datetime.datetime(2024, 3, 1, 10, 0)) == "2024-03-01 10:00:00"
	assert format_timestamp(datetime.datetime(2024, 3, 1, 10, 0, 0, 5)) == "2024-03-01 10:00:00.000005"


# ---------------------------------------------------------------------------
# v1 watermark
# ---------------------------------------------------------------------------


def test_the_default_overlap_window_is_ten_minutes():
	assert datetime.timedelta(minutes=10) == V1_OVERLAP


def test_v1_request_watermark_reaches_back_by_the_overlap_window():
	assert v1_request_watermark("2024-03-01 10:00:00") == "2024-03-01 09:50:00"


def test_v1_request_watermark_keeps_microseconds_in_str_datetime_form():
	watermark = v1_request_watermark("2024-03-01 10:00:00.123456")

	assert watermark == "2024-03-01 09:50:00.123456"
	assert watermark == str(datetime.datetime(2024, 3, 1, 9, 50, 0, 123456))


def test_v1_request_watermark_crosses_midnight_and_month_boundaries():
	assert v1_request_watermark("2024-03-01 00:05:00") == "2024-02-29 23:55:00"


def test_v1_request_watermark_uses_a_custom_overlap():
	assert v1_request_watermark("2024-03-01 10:00:00", overlap=datetime.timedelta(seconds=30)) == (
		"2024-03-01 09:59:30"
	)


def test_v1_request_watermark_with_no_overlap_sends_the_watermark_in_canonical_form():
	assert v1_request_watermark("2024-03-01T10:00:00", overlap=datetime.timedelta(0)) == "2024-03-01 10:00:00"


def test_v1_request_watermark_accepts_a_datetime():
	assert v1_request_watermark(datetime.datetime(2024, 3, 1, 10, 0)) == "2024-03-01 09:50:00"


def test_v1_request_watermark_passes_unparseable_text_through_unchanged():
	assert v1_request_watermark("not a timestamp") == "not a timestamp"


@pytest.mark.parametrize("value", [None, ""])
def test_v1_request_watermark_is_none_before_anything_was_pulled(value):
	assert v1_request_watermark(value) is None


# ---------------------------------------------------------------------------
# later_timestamp
# ---------------------------------------------------------------------------


def test_later_timestamp_picks_the_later_of_two_watermarks_in_either_order():
	early, late = "2024-03-01 10:00:00", "2024-03-01 10:00:00.000001"

	assert later_timestamp(early, late) == late
	assert later_timestamp(late, early) == late


def test_later_timestamp_compares_by_time_not_by_text():
	# As text, "...T09" sorts after "... 10" ("T" > " "); the earlier moment must still lose.
	assert later_timestamp("2024-03-01T09:00:00", "2024-03-01 10:00:00") == "2024-03-01 10:00:00"
	assert later_timestamp("2024-03-01 10:00:00", "2024-03-01T09:00:00") == "2024-03-01 10:00:00"


def test_later_timestamp_with_equal_moments_returns_that_moment():
	assert later_timestamp("2024-03-01 10:00:00", "2024-03-01T10:00:00.000000") == "2024-03-01 10:00:00"


@pytest.mark.parametrize("junk", [None, "", "garbage"])
def test_an_unparseable_or_missing_watermark_loses_to_a_real_one(junk):
	assert later_timestamp(junk, "2024-03-01 10:00:00") == "2024-03-01 10:00:00"
	assert later_timestamp("2024-03-01 10:00:00", junk) == "2024-03-01 10:00:00"


def test_later_timestamp_accepts_datetimes_and_returns_text():
	result = later_timestamp(datetime.datetime(2024, 3, 1, 10, 0), "2024-03-01 09:00:00")

	assert result == "2024-03-01 10:00:00"
	assert isinstance(result, str)


def test_later_timestamp_of_nothing_is_none():
	assert later_timestamp(None, None) is None


def test_later_timestamp_of_two_unparseable_values_keeps_the_first_non_blank():
	assert later_timestamp("garbage", None) == "garbage"
	assert later_timestamp(None, "garbage") == "garbage"


def test_v1_request_watermark_never_reaches_below_the_watermark_at_upgrade():
	# the original applied everything up to 10:00; re-reading before it would apply it twice
	assert v1_request_watermark("2024-03-01 10:03:00", "2024-03-01 10:00:00") == "2024-03-01 10:00:00"


def test_v1_request_watermark_overlaps_normally_once_past_the_upgrade_window():
	assert v1_request_watermark("2024-03-01 11:00:00", "2024-03-01 10:00:00") == "2024-03-01 10:50:00"


def test_v1_request_watermark_starts_at_the_upgrade_watermark_without_a_watermark():
	assert v1_request_watermark(None, "2024-03-01 10:00:00") == "2024-03-01 10:00:00"
