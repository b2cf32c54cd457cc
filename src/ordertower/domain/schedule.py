"""The plan's schedule (pure): when each item was planned to run, when it ran, and the
critical path.

Planned: from the order's start, each item starts when the last of its dependencies is
planned to end and lasts its expected duration (none: ``DEFAULT_SECONDS``). The critical path
is the chain of items that ends last (ties: the first in plan order). Actual: from each
item's ``started_at`` to its ``finished_at`` (or ``now`` while it is still in progress).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DEFAULT_SECONDS = 1.0


@dataclass(frozen=True)
class Scheduled:
    item: dict[str, Any]
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    critical: bool


def schedule(items: list[dict[str, Any]], start: datetime, now: datetime) -> list[Scheduled]:
    """``items``: plan item rows (``key``, ``depends_on`` keys, ``expected_duration_s``,
    ``started_at``, ``finished_at``), in plan order."""
    by_key = {i["key"]: i for i in items}
    end: dict[str, float] = {}
    via: dict[str, str | None] = {}

    def end_of(key: str, seen: frozenset[str] = frozenset()) -> float:
        if key not in end:
            item = by_key[key]
            deps = [d for d in item["depends_on"] if d in by_key and d not in seen]
            first = max(deps, key=lambda d: end_of(d, seen | {key}), default=None)
            begin = end_of(first, seen | {key}) if first else 0.0
            via[key] = first
            end[key] = begin + duration(item)
        return end[key]

    for i in items:
        end_of(i["key"])
    critical: set[str] = set()
    last = max(items, key=lambda i: end[i["key"]], default=None)
    key = last["key"] if last else None
    while key is not None and key not in critical:
        critical.add(key)
        key = via.get(key)
    out = []
    for i in items:
        finish = end[i["key"]]
        begin = finish - duration(i)
        actual_end = i.get("finished_at") or (now if i.get("started_at") else None)
        out.append(Scheduled(i, start + timedelta(seconds=begin), start + timedelta(seconds=finish),
                             i.get("started_at"), actual_end, i["key"] in critical))
    return out


def duration(item: dict[str, Any]) -> float:
    return float(item.get("expected_duration_s") or DEFAULT_SECONDS)
