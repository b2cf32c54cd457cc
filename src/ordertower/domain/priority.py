"""Order priority (TMF622 ``priority``: "0" highest .. "4" lowest) and the claim order it gives
plan items, free of starvation.

An item's **claim rank** is the moment it became due (ready, or the time a retry or a
scheduled start is due) plus its order's priority times the **aging interval**: workers claim
the lowest rank first. So among items due at the same moment the higher priority runs first,
and an item that has waited one aging interval longer counts as one priority level higher: a
priority-4 item due at t runs before any priority-0 item due after t + 4 intervals. The
effective rank "priority minus waiting time in intervals" is the same for every item at any
given moment up to one shared term, so it is stored once when the item becomes due and the
claim query reads it from an index. Pure; no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

HIGHEST, LOWEST = 0, 4
DEFAULT_PRIORITY = 2  # an order that names none: the middle
DEFAULT_AGING_SECONDS = 300.0


def order_priority(body: Mapping[str, Any] | None) -> int:
    """The priority an order body asks for (a string "0".."4" as TMF622 writes it, or a whole
    number), else ``DEFAULT_PRIORITY``. The API refuses other values (``is_priority``)."""
    value = (body or {}).get("priority")
    return int(value) if is_priority(value) else DEFAULT_PRIORITY


def is_priority(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return HIGHEST <= value <= LOWEST
    return isinstance(value, str) and len(value) == 1 and value in "01234"


def claim_rank(due_at: datetime, priority: int, aging_seconds: float) -> float:
    """The claim rank of an item due at ``due_at`` (epoch seconds; lower is claimed first)."""
    return due_at.timestamp() + priority * aging_seconds
