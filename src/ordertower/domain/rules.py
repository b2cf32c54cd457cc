"""Business rules of in-flight changes, as named objects checked before a change."""

from __future__ import annotations

from typing import Any, Iterable

from .errors import DomainError, Issue
from .lifecycle import STARTED_ITEM_STATES, OrderState

AMENDABLE_ORDER_STATES = frozenset({OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS, OrderState.HELD})


class ItemIsPastPointOfNoReturn(DomainError):
    """A point-of-no-return item of the bundle has started: the bundle can no longer change."""

    def __init__(self, items: list[dict[str, Any]], what: str = "change"):
        super().__init__(
            detail=f"Cannot {what}: past the point of no return of "
                   + ", ".join(sorted({i['name'] for i in items})) + ".",
            issues=[Issue(i["id"], f"{i['name']} ({i['state']}) is a point of no return of order "
                            f"item(s) {', '.join(i['root_item_ids'])}") for i in items],
            title="Past the point of no return", kind="past-ponr")
        self.items = items


class OrderIsNotAmendable(DomainError):
    def __init__(self, order_id: str, state: str, what: str = "amended"):
        super().__init__(detail=f"Order {order_id} is {state}; it can no longer be {what}.",
                         issues=[Issue("state", f"{state} orders cannot be {what}")],
                         title="Order cannot change", kind="conflict")


class RevisionIsStale(DomainError):
    def __init__(self, asked: int, current: int):
        super().__init__(detail=f"Revision {asked} is not newer than the order's revision {current}.",
                         issues=[Issue("revision", f"must be greater than {current}")],
                         title="Stale revision", kind="conflict")


class RevisionSuperseded(DomainError):
    def __init__(self, asked: int, applied: int):
        super().__init__(detail=f"Revision {asked} was superseded by revision {applied}, which was "
                                "applied instead.",
                         issues=[Issue("revision", f"superseded by {applied}")],
                         title="Revision superseded", kind="conflict")


def past_point_of_no_return(plan_items: Iterable[dict[str, Any]], roots: set[str]) -> list[dict[str, Any]]:
    """The started point-of-no-return items serving any of these root order items (bundles)."""
    return [i for i in plan_items
            if i["ponr"] and i["state"] in STARTED_ITEM_STATES and roots.intersection(i["root_item_ids"])]


def check_point_of_no_return(plan_items: Iterable[dict[str, Any]], roots: set[str], what: str) -> None:
    blocking = past_point_of_no_return(plan_items, roots)
    if blocking:
        raise ItemIsPastPointOfNoReturn(blocking, what)


def frozen_roots(plan_items: Iterable[dict[str, Any]]) -> set[str]:
    """Root order items that can no longer change (a PONR item serving them has started)."""
    out: set[str] = set()
    for i in plan_items:
        if i["ponr"] and i["state"] in STARTED_ITEM_STATES:
            out.update(i["root_item_ids"])
    return out
