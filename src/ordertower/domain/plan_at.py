"""The plan of an order as it stood at a past moment, rebuilt from the event log (pure).

The outbox (``events``) records every transition of the order and of its plan items with its
time. The plan at moment ``at``:

- the order's state is the ``to`` of its last ``ProductOrderStateChangeEvent`` at or before
  ``at`` (else the state it was created in: the ``from`` of its first such event, or its
  state now if it never changed);
- the revision in force is the newest ``ProductOrderRevisionEvent`` with status ``applied``
  at or before ``at`` (else 1);
- its items are the plan items created at or before ``at`` that the revision in force still
  held: an item carries the newest revision that kept it, so it was in every revision from
  the one that created it up to that one; an item dropped by a revision stays behind at the
  revision before it, and is not in the plan of any later revision. At the order's current
  revision this is exactly what ``GET /api/v1/orders/{id}/plan`` shows;
- each item's state is the ``to`` of its last ``PlanItemStateChangeEvent`` at or before
  ``at``, else the state it was created in (the ``from`` of its first event, or its state
  now if it never changed).

Before the order existed there is no plan: ``None`` (the API answers an empty plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

ITEM_EVENT = "PlanItemStateChangeEvent"
ORDER_EVENT = "ProductOrderStateChangeEvent"
REVISION_EVENT = "ProductOrderRevisionEvent"


@dataclass(frozen=True)
class ItemAt:
    item: dict[str, Any]  # the plan item row as stored now
    state: str  # its state at the moment
    since: datetime | None  # when it entered that state (None: since it was created)


@dataclass(frozen=True)
class PlanAt:
    at: datetime
    order_state: str
    revision: int
    items: list[ItemAt]


def plan_at(order: dict[str, Any], items: Iterable[dict[str, Any]],
            events: Iterable[dict[str, Any]], at: datetime) -> PlanAt | None:
    """``events``: the order's events (``type``, ``item_id``, ``payload``, ``occurred_at``),
    in outbox order; ``items``: its plan items of every revision."""
    if at < order["created_at"]:
        return None
    first: dict[str | None, dict[str, Any]] = {}  # first event per item (None: the order)
    last: dict[str | None, dict[str, Any]] = {}  # last event at or before ``at``
    revision = 1
    for e in events:
        kind = e["type"]
        if kind == REVISION_EVENT:
            p = e["payload"] or {}
            if (e["occurred_at"] <= at and p.get("status") == "applied"
                    and isinstance(p.get("revision"), int)):
                revision = max(revision, p["revision"])
            continue
        if kind == ITEM_EVENT:
            who = e["item_id"]
        elif kind == ORDER_EVENT:
            who = None
        else:
            continue
        first.setdefault(who, e)
        if e["occurred_at"] <= at:
            last[who] = e

    def state_of(who: str | None, now_state: str) -> tuple[str, datetime | None]:
        if who in last:
            return last[who]["payload"]["to"], last[who]["occurred_at"]
        if who in first and first[who]["payload"].get("from"):
            return first[who]["payload"]["from"], None
        return now_state, None

    shown = []
    for item in items:
        if item["created_at"] > at or item["revision"] < revision:
            continue
        state, since = state_of(item["id"], item["state"])
        shown.append(ItemAt(item, state, since))
    return PlanAt(at, state_of(None, order["state"])[0], revision, shown)
