"""Durations written as in catalogs: '500ms', '10s', '5m', '2h', '1d', '1h30m'."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_SECONDS = _UNIT_SECONDS


def parse_duration(text: str | int | float) -> timedelta:
    """Parse a duration; a bare number means seconds. Raises ValueError on bad text."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=float(text))
    s = str(text).strip().replace(" ", "")
    if not s:
        raise ValueError("empty duration")
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"not a duration: {text!r} (use e.g. 500ms, 10s, 5m, 2h, 1d, 1h30m)")
    return timedelta(seconds=total)


def format_duration(td: timedelta) -> str:
    secs = td.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size and secs % size == 0:
            return f"{int(secs // size)}{unit}"
    return f"{int(secs * 1000)}ms"
