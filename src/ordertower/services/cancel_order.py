"""Use case: cancel an order (TMF622 cancelProductOrder; operators from fallout or the
operations API).

The order goes ``assessingCancellation`` -> ``pendingCancellation``. Work not started and
work in fallout is cancelled (fallout discarded); completed work is compensated in reverse
order of execution, as its items' strategies say; work running now finishes first (its
outcome is kept, then compensated). When nothing is left open, the order is ``cancelled``
and its cancellation request ``done``. Work discarded from fallout leaves a ``resolve-fallout``
task (engine/tasks.py): its systems may hold half-done work someone must check. Refused past the point of no return: the request ends
``terminatedWithError`` with the reason, and the order carries on.
"""

from __future__ import annotations

from typing import Any

from ..domain.ids import new_id
from ..engine.conflicts import retrying
from ..domain.errors import DomainError, NotFound
from ..domain.lifecycle import ItemState, OrderState
from ..domain.rules import (AMENDABLE_ORDER_STATES, OrderIsNotAmendable, check_changes_allowed,
                            check_point_of_no_return)
from ..engine import locks, order_state
from ..engine.tasks import create_resolve_fallout_task
from ..engine.transitions import transition_order
from .changes import withdraw
from ..engine.ports import Store, UnitOfWork


@retrying
def cancel(store: Store, order_id: str, reason: str) -> str:
    with store.uow() as uow:
        order, _ = locks.lock(uow, order_id)
        if order is None:
            raise NotFound("product order", order_id)
        state = cancel_in(uow, order, reason)
        uow.commit()
        return state


def cancel_in(uow: UnitOfWork, order: dict[str, Any], reason: str) -> str:
    """Cancel inside the caller's unit of work (the order is locked). Returns its new state."""
    if order["state"] not in AMENDABLE_ORDER_STATES:
        raise OrderIsNotAmendable(order["id"], order["state"], "cancelled")
    rows = locks.lock_order_items(uow, order["id"])
    current = [r for r in rows if r["revision"] == order["revision"]]
    roots = {root for r in current for root in r["root_item_ids"]} | {i["id"] for i in order["items"]}
    check_point_of_no_return(current, roots, "cancel")
    order = transition_order(uow, order, OrderState.ASSESSING_CANCELLATION, reason)
    order = transition_order(uow, order, OrderState.PENDING_CANCELLATION, reason,
                             state_reason=reason)
    in_fallout = [r for r in current if r["state"] == ItemState.FALLOUT and not r["spec"].compensates]
    withdraw(uow, current, order["revision"], f"order cancelled: {reason}", cancelling=True)
    if in_fallout:  # their systems may hold half-done work: someone checks them
        create_resolve_fallout_task(uow, order, in_fallout, f"order cancelled: {reason}")
    order_state.settle_order(uow, order["id"])
    return uow.orders.get(order["id"])["state"]


@retrying
def request_cancellation(store: Store, order_id: str, reason: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """TMF622 cancelProductOrder: acknowledged -> inProgress -> done | terminatedWithError."""
    with store.uow() as uow:
        order, _ = locks.lock(uow, order_id)
        if order is None:
            raise NotFound("product order", order_id)
        now = uow.clock.now()
        request = {"id": new_id(), "order_id": order_id, "state": "acknowledged", "reason": reason,
                   "body": body, "created_at": now}
        uow.changes.add_cancel(request)
        uow.changes.update_cancel(request["id"], state="inProgress")
        try:
            # TMF622 changesAllowed false: no supplemental order, and a cancellation is one
            check_changes_allowed(order["items"], {i["id"] for i in order["items"]}, what="cancelled")
            state = cancel_in(uow, order, reason or "cancelled by the customer")
        except DomainError as exc:
            uow.rollback()
            return _terminated(store, request, exc.detail)
        if state == OrderState.CANCELLED:
            uow.changes.update_cancel(request["id"], state="done", effective_at=now)
        uow.events.add("CancelProductOrderCreateEvent", {"cancel": request["id"], "order": order_id},
                       now, order_id=order_id)
        uow.commit()
    with store.read() as uow:
        return uow.changes.cancel(request["id"])


def _terminated(store: Store, request: dict[str, Any], message: str) -> dict[str, Any]:
    """The refusal is recorded on its own: the order itself is left as it was."""
    with store.uow() as uow:
        now = uow.clock.now()
        uow.changes.add_cancel(request | {"state": "terminatedWithError", "error_message": message,
                                          "effective_at": now})
        uow.events.add("CancelProductOrderStateChangeEvent", {
            "cancel": request["id"], "order": request["order_id"], "state": "terminatedWithError",
            "reason": message}, now, order_id=request["order_id"])
        uow.commit()
        return uow.changes.cancel(request["id"])


def get_cancellation(store: Store, cancel_id: str) -> dict[str, Any]:
    with store.read() as uow:
        row = uow.changes.cancel(cancel_id)
    if row is None:
        raise NotFound("cancelProductOrder", cancel_id)
    return row


def list_cancellations(store: Store, order_id: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
    with store.read() as uow:
        return uow.changes.cancels(order_id, state)
