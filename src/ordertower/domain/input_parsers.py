"""Strict parsers for values that arrive as text from outside: whole numbers, timestamps,
durations and ids. Every route (and the simulators) reads such values through these, so that
a value is either one ordertower can hold and compute with, or a ``ValueError`` whose message
says what was expected (the caller names the field).

- A whole number is ASCII digits only ('²' and '٣' are digits to Python, not to us), at most
  18 of them, within the bounds the caller gives.
- A timestamp is RFC 3339 (``2026-05-01T10:00:00Z``, ``...+02:00``, fractions allowed), whose
  instant in UTC falls in the years 1970 to 9999 (``9999-12-31T23:59:59-14:00`` is year
  10000 in UTC and is refused, not overflowed).
- A duration is written as in catalogs (``500ms``, ``10s``, ``5m``, ``2h``, ``1d``, ``1w``,
  ``1h30m``), with ASCII digits, at most ``MAX_DURATION`` (ten years).
- An id is 1 to ``MAX_ID_LENGTH`` characters with no control character.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .durations import UNIT_SECONDS

MAX_DIGITS = 18  # below 2**63: every database integer holds it
MAX_ID_LENGTH = 200
MAX_DURATION = timedelta(days=3653)  # ten years
MAX_DURATION_TEXT = 64
EARLIEST_YEAR, LATEST_YEAR = 1970, 9999

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})")
_DURATION = re.compile(r"(?:[0-9]{1,12}(?:\.[0-9]{1,9})?(?:ms|s|m|h|d|w))+")
_DURATION_PART = re.compile(r"([0-9.]+)(ms|s|m|h|d|w)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def whole_number(text: str, low: int = 0, high: int = 10**MAX_DIGITS - 1) -> int:
    """``text`` as an int in ``low..high``, written with the ASCII digits 0-9 only."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > MAX_DIGITS:
        raise ValueError(f"expected a whole number from {low} to {high}, written with the digits 0-9")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"expected a whole number from {low} to {high}")
    return value


def timestamp(text: str) -> datetime:
    """An RFC 3339 date-time as an aware datetime in UTC, in the years 1970..9999."""
    if not isinstance(text, str) or len(text) > 40 or not _RFC3339.fullmatch(text):
        raise ValueError("expected an RFC 3339 date-time, e.g. 2026-05-01T10:00:00Z")
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
        in_utc = parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise ValueError(f"not a date-time between the years {EARLIEST_YEAR} and {LATEST_YEAR} "
                         "(in UTC)") from None
    if not EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR:
        raise ValueError(f"not a date-time between the years {EARLIEST_YEAR} and {LATEST_YEAR} "
                         "(in UTC)")
    return in_utc


def duration(text: str, at_most: timedelta = MAX_DURATION) -> timedelta:
    """A duration such as ``1h30m``, at most ``at_most``."""
    if not isinstance(text, str) or len(text) > MAX_DURATION_TEXT or not _DURATION.fullmatch(text):
        raise ValueError("expected a duration such as 500ms, 10s, 5m, 2h, 1d, 1w or 1h30m")
    seconds = sum(float(number) * UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    if seconds > at_most.total_seconds():  # compared as a float: a timedelta could overflow
        raise ValueError(f"expected a duration of at most {at_most.days} days")
    return timedelta(seconds=seconds)


def identifier(text: str, max_length: int = MAX_ID_LENGTH) -> str:
    """An id: 1 to ``max_length`` characters, no control characters."""
    if not isinstance(text, str) or not 1 <= len(text) <= max_length or _CONTROL.search(text):
        raise ValueError(f"expected an id of 1 to {max_length} characters without control characters")
    return text
