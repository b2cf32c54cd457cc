"""The strict parsers every route reads numbers, timestamps, durations and ids through: what
they accept they can hold and compute with; everything else is a ValueError saying what was
expected (never an OverflowError, never a number read from non-ASCII digits)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordertower.domain.input_parsers import (
    MAX_DURATION,
    MAX_ID_LENGTH,
    duration,
    identifier,
    timestamp,
    whole_number,
)

ANY_TEXT = st.text(max_size=60)
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}")


# --- whole numbers ---------------------------------------------------------------------------

@given(st.integers(min_value=1, max_value=1000))
def test_a_whole_number_in_bounds_is_read_as_written(n):
    assert whole_number(str(n), 1, 1000) == n


@given(ANY_TEXT)
def test_any_text_is_a_number_in_bounds_or_a_value_error(text):
    try:
        value = whole_number(text, 0, 10**9)
    except ValueError as exc:
        assert "whole number" in str(exc)
    else:
        assert text.isascii() and text.isdigit() and 0 <= value <= 10**9


@pytest.mark.parametrize("text", ["\u00b2", "\u0663", "\uff11", "1_000", "+5", " 5", "5.0", "-1", "",
                                  "9" * 19])
def test_what_python_would_read_as_a_number_but_is_not_ascii_digits_is_refused(text):
    with pytest.raises(ValueError, match="whole number"):
        whole_number(text, 0, 10**30)


def test_a_number_out_of_bounds_is_refused_naming_the_bounds():
    with pytest.raises(ValueError, match="from 1 to 1000"):
        whole_number("0", 1, 1000)


# --- timestamps ------------------------------------------------------------------------------

@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31)), OFFSETS)
def test_an_rfc_3339_timestamp_is_read_as_the_same_instant_in_utc(moment, offset):
    text = moment.isoformat(timespec="microseconds") + offset
    parsed = timestamp(text)
    assert parsed.tzinfo == timezone.utc
    assert parsed == datetime.fromisoformat(text)


@given(ANY_TEXT)
def test_any_text_is_a_timestamp_in_range_or_a_value_error(text):
    try:
        parsed = timestamp(text)
    except ValueError:
        return
    assert 1970 <= parsed.year <= 9999 and parsed.tzinfo == timezone.utc


@given(st.datetimes(min_value=datetime(9999, 12, 31, 14), max_value=datetime(9999, 12, 31, 23, 59)),
       st.integers(min_value=10, max_value=14))
def test_the_last_day_west_of_greenwich_overflows_into_year_10000_and_is_refused(moment, hours):
    with pytest.raises(ValueError, match="1970 and 9999"):
        timestamp(moment.isoformat(timespec="seconds") + f"-{hours:02d}:00")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z",
                                  "2026-05-01", "2026-05-01T10:00:00", "1700000000",
                                  "2026-05-01T10:00:00+24:00", "2026-02-30T10:00:00Z",
                                  "\u0662026-05-01T10:00:00Z"])
def test_what_is_not_an_rfc_3339_instant_of_1970_to_9999_is_refused(text):
    with pytest.raises(ValueError):
        timestamp(text)


# --- durations -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,seconds", [("500ms", 0.5), ("10s", 10), ("5m", 300), ("2h", 7200),
                                          ("1d", 86400), ("1w", 604800), ("1h30m", 5400)])
def test_a_duration_is_read_as_in_catalogs(text, seconds):
    assert duration(text).total_seconds() == seconds


@given(ANY_TEXT | st.integers(min_value=0, max_value=10**15).map(lambda n: f"{n}d"))
def test_any_text_is_a_duration_of_at_most_ten_years_or_a_value_error(text):
    try:
        value = duration(text)
    except ValueError:
        return
    assert timedelta(0) <= value <= MAX_DURATION


@pytest.mark.parametrize("text", ["999999999d", "999999999999w", "3654d", "\u0663d", "1y", "-1d", ""])
def test_an_absurd_or_foreign_duration_is_refused(text):
    with pytest.raises(ValueError):
        duration(text)


# --- ids -------------------------------------------------------------------------------------

@given(st.text(min_size=1, max_size=MAX_ID_LENGTH).filter(lambda t: t.isprintable()))
def test_a_printable_id_of_bounded_length_is_kept_as_is(text):
    assert identifier(text) == text


@pytest.mark.parametrize("text", ["", "x" * (MAX_ID_LENGTH + 1), "a\x00b", "line\nbreak"])
def test_an_empty_overlong_or_control_character_id_is_refused(text):
    with pytest.raises(ValueError, match="id of 1 to"):
        identifier(text)
