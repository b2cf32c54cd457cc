"""The plan at a past moment, rebuilt from events (domain/plan_at.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ordertower.domain.plan_at import plan_at

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def item(id: str, revision: int, created: float, state: str) -> dict:
    return {"id": id, "revision": revision, "created_at": at(created), "state": state}


def moved(item_id: str | None, seconds: float, frm: str | None, to: str) -> dict:
    kind = "PlanItemStateChangeEvent" if item_id else "ProductOrderStateChangeEvent"
    return {"type": kind, "item_id": item_id, "occurred_at": at(seconds),
            "payload": {"from": frm, "to": to}}


def revised(seconds: float, number: int, status: str = "applied") -> dict:
    return {"type": "ProductOrderRevisionEvent", "item_id": None, "occurred_at": at(seconds),
            "payload": {"revision": number, "status": status}}


ORDER = {"created_at": at(0), "state": "completed"}
# "ship" ran and was kept by revision 2; "old" was dropped by revision 2 (cancelled, it stays
# at revision 1); "new" came with revision 2; "idle" never changed.
ITEMS = [item("ship", 2, 0, "completed"), item("old", 1, 0, "cancelled"),
         item("new", 2, 5, "completed"), item("idle", 2, 0, "skipped")]
EVENTS = [
    moved(None, 1, "acknowledged", "inProgress"),
    moved("ship", 1, "ready", "running"), moved("ship", 2, "running", "completed"),
    revised(4, 2, "queued"), moved("old", 5, "pending", "cancelled"), revised(5, 2),
    moved("new", 6, "ready", "running"), moved("new", 7, "running", "completed"),
    moved(None, 7, "inProgress", "completed"), revised(8, 3, "refused"),
]


def states(moment: float) -> dict[str, str]:
    found = plan_at(ORDER, ITEMS, EVENTS, at(moment))
    return {i.item["id"]: i.state for i in found.items}


def test_each_item_has_the_state_of_its_last_transition_at_or_before_the_moment():
    assert states(0) == {"ship": "ready", "old": "pending", "idle": "skipped"}
    assert states(1) == {"ship": "running", "old": "pending", "idle": "skipped"}
    assert states(3) == {"ship": "completed", "old": "pending", "idle": "skipped"}


def test_a_revision_drops_the_items_it_removed_and_brings_its_new_ones_from_when_it_applied():
    assert states(4.5) == {"ship": "completed", "old": "pending", "idle": "skipped"}
    assert states(5) == {"ship": "completed", "new": "ready", "idle": "skipped"}
    assert states(9) == {"ship": "completed", "new": "completed", "idle": "skipped"}
    assert plan_at(ORDER, ITEMS, EVENTS, at(9)).revision == 2  # revision 3 was refused


def test_the_order_state_and_the_moment_before_the_order_existed():
    assert plan_at(ORDER, ITEMS, EVENTS, at(0)).order_state == "acknowledged"
    assert plan_at(ORDER, ITEMS, EVENTS, at(6)).order_state == "inProgress"
    assert plan_at(ORDER, ITEMS, EVENTS, at(7)).order_state == "completed"
    assert plan_at(ORDER, ITEMS, EVENTS, at(-1)) is None
