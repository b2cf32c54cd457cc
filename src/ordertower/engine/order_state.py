"""The order's state follows its plan: settled after every change to its items."""

from __future__ import annotations

from ..domain.jeopardy import GREEN
from ..domain.lifecycle import ItemState, OrderState
from .transitions import transition_order

def settle_order(uow, order_id: str) -> None:
    """Bring the order's state in line with its plan: completed when nothing is left,
    held while an item is in fallout, in progress otherwise."""
    order = uow.orders.get(order_id)
    if order is not None and order["state"] == OrderState.PENDING_CANCELLATION:
        if uow.plan.count_open(order_id) == 0:
            now = uow.clock.now()
            transition_order(uow, order, OrderState.CANCELLED, "every item is closed or undone",
                             completion_date=now)
            for request in uow.changes.cancels(order_id, "inProgress"):
                uow.changes.update_cancel(request["id"], state="done", effective_at=now)
                uow.events.add("CancelProductOrderStateChangeEvent", {
                    "cancel": request["id"], "order": order_id, "state": "done"}, now, order_id=order_id)
        return
    if order is None or order["state"] not in (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS,
                                               OrderState.HELD):
        return
    if order["state"] == OrderState.ACKNOWLEDGED and uow.plan.count_started(order_id, order["revision"]):
        order = transition_order(uow, order, OrderState.IN_PROGRESS, "fulfillment started")
    if uow.plan.count_open(order_id) == 0:
        transition_order(uow, order, OrderState.COMPLETED, "every plan item is done",
                         completion_date=uow.clock.now(), jeopardy=GREEN)
    elif uow.plan.count_in_state(order_id, order["revision"], ItemState.FALLOUT) > 0:
        if order["state"] != OrderState.HELD:
            transition_order(uow, order, OrderState.HELD, "a plan item is in fallout")
    elif order["state"] == OrderState.HELD:
        transition_order(uow, order, OrderState.IN_PROGRESS, "no plan item is in fallout any more")
