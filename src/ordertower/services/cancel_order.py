"""Use case: cancel an order (the operator's "cancel the order" from fallout).

The order goes ``assessingCancellation`` -> ``pendingCancellation``; every item not yet
started, and every item in fallout, is cancelled; items running now finish (their outcome is
kept, their successors are cancelled) and then the order is ``cancelled``. An order past its
point of no return cannot be cancelled.
"""

from __future__ import annotations

from typing import Any

from ..domain.errors import DomainError, Issue, NotFound
from ..domain.lifecycle import STARTED_ITEM_STATES, ItemState, OrderState
from ..engine import recorder
from ..engine.transitions import transition_item, transition_order

CANCELLABLE_ITEMS = (ItemState.PENDING, ItemState.READY, ItemState.ON_HOLD, ItemState.RETRYING,
                     ItemState.FALLOUT)


class ItemIsPastPointOfNoReturn(DomainError):
    def __init__(self, items: list[dict[str, Any]]):
        super().__init__(detail="The order is past its point of no return.",
                         issues=[Issue(i["id"], f"{i['name']} ({i['state']}) is a point of no return")
                                 for i in items],
                         title="Past the point of no return", kind="past-ponr")


def cancel(store, order_id: str, reason: str) -> str:
    with store.uow() as uow:
        order = uow.orders.get(order_id, for_update=True)
        if order is None:
            raise NotFound("product order", order_id)
        state = cancel_in(uow, order, reason)
        uow.commit()
        return state


def cancel_in(uow, order: dict[str, Any], reason: str) -> str:
    items = uow.plan.for_order(order["id"], order["revision"])
    past = [i for i in items if i["ponr"] and i["state"] in STARTED_ITEM_STATES]
    if past:
        raise ItemIsPastPointOfNoReturn(past)
    order = transition_order(uow, order, OrderState.ASSESSING_CANCELLATION, reason)
    order = transition_order(uow, order, OrderState.PENDING_CANCELLATION, reason)
    for item in items:
        if item["state"] in CANCELLABLE_ITEMS:
            transition_item(uow, item, ItemState.CANCELLED, f"order cancelled: {reason}",
                            not_before=None)
        elif item["state"] == ItemState.WAITING:
            # nobody waits any more: the task or callback URL goes with it
            task = uow.orchestration.task_for_item(item["id"])
            if task is not None:
                uow.orchestration.update_task(task["id"], state="cancelled")
            token = uow.orchestration.token_for(item["id"], item["attempts"])
            if token is not None and token["used_at"] is None:
                uow.orchestration.update_token(token["token_hash"], used_at=uow.clock.now())
            transition_item(uow, item, ItemState.CANCELLED, f"order cancelled: {reason}")
    recorder.settle_order(uow, order["id"])
    return uow.orders.get(order["id"])["state"]
