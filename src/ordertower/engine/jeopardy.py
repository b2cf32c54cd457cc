"""Jeopardy: items running past their expected duration, orders projected to finish after
their due date (the requested completion date, else the expected one the service levels gave
at placement). Recomputed by a periodic sweep; each change is an event."""

from __future__ import annotations

from .conflicts import retrying
from ..domain.jeopardy import GREEN, item_jeopardy, order_jeopardy
from ..domain.service_levels import due_date
from .ports import Store

# a projected completion that moved by less than this is not written again: it moves with
# the clock for every open order, and writing each one on every sweep held SQLite's one write
# lock for 150 ms every 5 s with a few hundred orders open (an order placed meanwhile waited)
PROJECTION_STEP_S = 60.0


def _projection_moved(order: dict, projection) -> bool:
    stored = order["projected_completion"]
    return stored is None or abs((projection - stored).total_seconds()) >= PROJECTION_STEP_S


def _judged(order: dict, items: list[dict], now) -> tuple[str, object, bool, list[str]]:
    """(the order's level, its projection, whether the order row needs writing, the ids of
    its items whose level changed)."""
    level, projection = order_jeopardy(items, now, order["requested_completion_date"],
                                       order.get("expected_completion_date"))
    write = level != (order["jeopardy"] or GREEN) or _projection_moved(order, projection)
    changed = [i["id"] for i in items if item_jeopardy(i, now) != (i["jeopardy"] or GREEN)]
    return level, projection, write, changed


@retrying
def sweep_jeopardy(store: Store, limit: int = 1000) -> int:
    """Recompute jeopardy of open orders and their items; raise an event on each change.
    The open orders are judged first in a read transaction: only those with something to
    write (a level changed, a projection that moved by PROJECTION_STEP_S or more) are then
    written, in a write transaction that never waits for a lock (engine/locks.py): the
    orders nobody holds now, then those of their changed items nobody holds; the rest waits
    for the next sweep. Orders and items are read in one statement each, whatever their
    number."""
    with store.read() as uow:
        now = uow.clock.now()
        orders = list(uow.orders.get_many(uow.orders.open_ids(limit), whole=False).values())
        plans = uow.plan.open_of_revisions({o["id"]: o["revision"] for o in orders})
        stale = []
        for order in orders:
            _, _, write, changed = _judged(order, plans[order["id"]], now)
            if write or changed:
                stale.append(order["id"])
    if not stale:
        return 0
    changes = 0
    with store.uow() as uow:
        now = uow.clock.now()
        free = uow.orders.lock_free_many(stale)  # held: the next sweep
        # open items only: a finished item is GREEN and adds nothing to the projection
        plans = uow.plan.open_of_revisions({o["id"]: o["revision"] for o in free})
        events: list[dict] = []
        for order in free:
            order_id = order["id"]
            items = plans[order_id]
            due = due_date(order["requested_completion_date"], order.get("expected_completion_date"))
            level, projection, write, changed = _judged(order, items, now)
            if write:
                uow.orders.update(order_id, jeopardy=level, projected_completion=projection)
                if level != (order["jeopardy"] or GREEN):
                    events.append({"type": "JeopardyChangeEvent", "order_id": order_id, "payload": {
                        "order": order_id, "from": order["jeopardy"] or GREEN, "to": level,
                        "projected_completion": projection.isoformat(),
                        "due": due.isoformat() if due else None}})
                    changes += 1
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
