"""Jeopardy: is an item running late, will an order finish after its requested date?

- An item in progress (running, waiting, retrying, fallout) is YELLOW once 80 % of its
  expected duration has elapsed since it started, RED once it has overrun it. Items without
  an expected duration, and items not in progress, are GREEN.
- An order's projected completion is ``now`` plus the longest chain (critical path) of
  what remains: each unfinished item counts its expected duration, less the time it has
  already run. The order is RED when the projection is past its requested completion date,
  YELLOW when the slack left is under a quarter of the remaining path, and never better than
  its worst item. A finished order is GREEN.
- An order whose customer asked for no date is judged against its expected completion date
  (the service levels', fixed at placement: domain/service_levels.py). That date is an
  estimate, with no slack when the plan's critical path outlasts every lead time, so a
  projection past it makes the order YELLOW (at risk); RED once the date itself has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .lifecycle import FINAL_ITEM_STATES

GREEN, YELLOW, RED = "GREEN", "YELLOW", "RED"
LEVELS = {GREEN: 0, YELLOW: 1, RED: 2}
YELLOW_AT = 0.8
IN_PROGRESS = frozenset({"running", "waiting", "retrying", "fallout"})


def worst(*levels: str) -> str:
    return max(levels, key=LEVELS.__getitem__, default=GREEN)


def item_jeopardy(item: dict[str, Any], now: datetime) -> str:
    expected = item.get("expected_duration_s")
    started = item.get("started_at")
    if item["state"] not in IN_PROGRESS or not expected or started is None:
        return GREEN
    elapsed = (now - started).total_seconds()
    if elapsed > expected:
        return RED
    return YELLOW if elapsed >= YELLOW_AT * expected else GREEN


def _remaining(item: dict[str, Any], now: datetime) -> float:
    expected = item.get("expected_duration_s") or 0.0
    started = item.get("started_at")
    if item["state"] in IN_PROGRESS and started is not None:
        return max(expected - (now - started).total_seconds(), 0.0)
    return expected


def projected_completion(items: list[dict[str, Any]], now: datetime) -> datetime:
    open_items = {i["key"]: i for i in items if i["state"] not in FINAL_ITEM_STATES}
    finish: dict[str, float] = {}

    def finish_of(key: str) -> float:
        if key not in finish:
            item = open_items[key]
            start = max((finish_of(d) for d in item["depends_on"] if d in open_items), default=0.0)
            finish[key] = start + _remaining(item, now)
        return finish[key]

    longest = max((finish_of(k) for k in open_items), default=0.0)
    return now + timedelta(seconds=longest)


def order_jeopardy(items: list[dict[str, Any]], now: datetime,
                   requested_completion: datetime | None,
                   expected_completion: datetime | None = None) -> tuple[str, datetime]:
    projection = projected_completion(items, now)
    if all(i["state"] in FINAL_ITEM_STATES for i in items):
        return GREEN, projection
    level = worst(*(item_jeopardy(i, now) for i in items))
    if requested_completion is None and expected_completion is not None:
        if now > expected_completion:
            level = worst(level, RED)
        elif projection > expected_completion:
            level = worst(level, YELLOW)
    if requested_completion is not None:
        remaining = (projection - now).total_seconds()
        slack = (requested_completion - projection).total_seconds()
        if slack < 0:
            level = worst(level, RED)
        elif slack < 0.25 * remaining:
            level = worst(level, YELLOW)
    return level, projection
