"""Business rules of in-flight changes, as named objects checked before a change."""

from __future__ import annotations

from typing import Any, Iterable

from .errors import DomainError, Issue
from .lifecycle import STARTED_ITEM_STATES, OrderState
from .orders import root_of

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


class PastPonrWithoutCompensation(ItemIsPastPointOfNoReturn):
    """A forced change past the point of no return needs every PONR item it passes to declare
    how its work is undone (a ``compensation`` request, or ``compensate: manual``)."""

    def __init__(self, items: list[dict[str, Any]], what: str = "amend"):
        super().__init__(items, what)
        self.detail = (f"Cannot force the change: past the point of no return of "
                       + ", ".join(sorted({i['name'] for i in items}))
                       + ", which declare(s) no compensation to undo the work.")
        self.issues = [Issue(i["id"], f"{i['name']} ({i['state']}) is a point of no return of order "
                                      f"item(s) {', '.join(i['root_item_ids'])} and declares no compensation")
                       for i in items]


class ItemChangesNotAllowed(DomainError):
    """An order item created with ``changesAllowed: false`` is part of what would change."""

    def __init__(self, fields: list[tuple[str, str]], what: str = "amended"):
        super().__init__(detail="Cannot change: order item(s) " + ", ".join(i for _f, i in fields)
                                + f" were created with changesAllowed false and cannot be {what}.",
                         issues=[Issue(f, f"order item {i} does not allow changes") for f, i in fields],
                         title="Changes not allowed", kind="changes-not-allowed")


def check_changes_allowed(order_items: list[dict[str, Any]], touched_roots: set[str],
                          new_items: list[dict[str, Any]] | None = None, what: str = "amended") -> None:
    """Refuse a change touching a bundle one of whose items was created with
    ``changesAllowed: false``. Each is named at its place in the new item list (else in the
    order's): ``productOrderItem[n].changesAllowed``."""
    parents = {i["id"]: i.get("parent_id") for i in order_items}
    locked = [i["id"] for i in order_items if i.get("changes_allowed", True) is False
              and root_of(i["id"], parents) in touched_roots]
    if not locked:
        return
    index = {i["id"]: n for n, i in enumerate(new_items if new_items is not None else order_items)}
    fallback = {i["id"]: n for n, i in enumerate(order_items)}
    raise ItemChangesNotAllowed([(f"productOrderItem[{index.get(i, fallback[i])}].changesAllowed", i)
                                 for i in locked], what)


def without_undo(blocking: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the started PONR items a forced change passes, those that declare no way to undo
    their work (neither a compensation request nor a manual compensation)."""
    return [i for i in blocking if i["spec"].compensation is None and i["spec"].compensate != "manual"]


def passed_soft_ponr(plan_items: Iterable[dict[str, Any]], roots: set[str]) -> list[dict[str, Any]]:
    """Started items flagged ``soft_ponr`` serving these bundles: a change is accepted, with a
    warning naming each."""
    return [i for i in plan_items
            if i["spec"].soft_ponr and i["state"] in STARTED_ITEM_STATES
            and roots.intersection(i["root_item_ids"])]


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
