"""Jeopardy: items running past their expected duration, orders projected to finish after
their due date (the requested completion date, else the expected one the service levels gave
at placement). Recomputed by a periodic sweep; each change is an event."""

from __future__ import annotations

from .conflicts import retrying
from ..domain.jeopardy import GREEN, item_jeopardy, order_jeopardy
from ..domain.service_levels import due_date
from .ports import Store

@retrying
def sweep_jeopardy(store: Store, limit: int = 1000) -> int:
    """Recompute jeopardy of open orders and their items; raise an event on each change.
    Never waits for a lock (engine/locks.py): the orders nobody holds now, then those of
    their changed items nobody holds; the rest waits for the next sweep. The orders and their
    items are read in one statement each, whatever their number."""
    changes = 0
    with store.uow() as uow:
        now = uow.clock.now()
        free = uow.orders.lock_free_many(uow.orders.open_ids(limit))  # held: the next sweep
        # open items only: a finished item is GREEN and adds nothing to the projection
        plans = uow.plan.open_of_revisions({o["id"]: o["revision"] for o in free})
        events: list[dict] = []
        for order in free:
            order_id = order["id"]
            items = plans[order_id]
            due = due_date(order["requested_completion_date"], order.get("expected_completion_date"))
            level, projection = order_jeopardy(items, now, order["requested_completion_date"],
                                               order.get("expected_completion_date"))
            if level != (order["jeopardy"] or GREEN) or projection != order["projected_completion"]:
                uow.orders.update(order_id, jeopardy=level, projected_completion=projection)
                if level != (order["jeopardy"] or GREEN):
                    events.append({"type": "JeopardyChangeEvent", "order_id": order_id, "payload": {
                        "order": order_id, "from": order["jeopardy"] or GREEN, "to": level,
                        "projected_completion": projection.isoformat(),
                        "due": due.isoformat() if due else None}})
                    changes += 1
            changed = [i["id"] for i in items if item_jeopardy(i, now) != (i["jeopardy"] or GREEN)]
            if not changed:
                continue
            for item in uow.plan.lock_items(order_id, changed, skip_locked=True):
                level = item_jeopardy(item, now)
                if level != (item["jeopardy"] or GREEN):
                    uow.plan.set_jeopardy(item["id"], level)
                    events.append({"type": "JeopardyChangeEvent", "order_id": order_id,
                                   "item_id": item["id"], "payload": {
                                       "item": item["id"], "key": item["key"],
                                       "from": item["jeopardy"] or GREEN, "to": level}})
                    changes += 1
        if events:
            uow.events.add_many(events, now)
        uow.commit()
    return changes
