"""Jeopardy: items running past their expected duration, orders projected to finish after
their due date (the requested completion date, else the expected one the service levels gave
at placement). Recomputed by a periodic sweep; each change is an event."""

from __future__ import annotations

from .conflicts import retrying
from ..domain.jeopardy import GREEN, item_jeopardy, order_jeopardy
from ..domain.service_levels import due_date
from .locks import lock_if_free
from .ports import Store

@retrying
def sweep_jeopardy(store: Store, limit: int = 1000) -> int:
    """Recompute jeopardy of open orders and their items; raise an event on each change.
    Never waits for a lock (engine/locks.py): an order only if nobody holds it now, then
    those of its changed items nobody holds; the rest waits for the next sweep."""
    changes = 0
    with store.uow() as uow:
        now = uow.clock.now()
        for order_id in uow.orders.open_ids(limit):
            held = lock_if_free(uow, order_id)
            if held is None:  # being changed right now: the next sweep sees it
                continue
            order = held[0]
            items = uow.plan.for_order(order_id, order["revision"])
            due = due_date(order["requested_completion_date"], order.get("expected_completion_date"))
            level, projection = order_jeopardy(items, now, order["requested_completion_date"],
                                               order.get("expected_completion_date"))
            if level != (order["jeopardy"] or GREEN) or projection != order["projected_completion"]:
                uow.orders.update(order_id, jeopardy=level, projected_completion=projection)
                if level != (order["jeopardy"] or GREEN):
                    uow.events.add("JeopardyChangeEvent", {
                        "order": order_id, "from": order["jeopardy"] or GREEN, "to": level,
                        "projected_completion": projection.isoformat(),
                        "due": due.isoformat() if due else None}, now, order_id=order_id)
                    changes += 1
            changed = [i["id"] for i in items if item_jeopardy(i, now) != (i["jeopardy"] or GREEN)]
            for item in uow.plan.lock_items(order_id, changed, skip_locked=True):
                level = item_jeopardy(item, now)
                if level != (item["jeopardy"] or GREEN):
                    uow.plan.set_jeopardy(item["id"], level)
                    uow.events.add("JeopardyChangeEvent", {
                        "item": item["id"], "key": item["key"], "from": item["jeopardy"] or GREEN,
                        "to": level}, now, order_id=order_id, item_id=item["id"])
                    changes += 1
        uow.commit()
    return changes
