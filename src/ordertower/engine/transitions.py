"""State changes through the life cycle, each with its event, inside the caller's unit of work."""

from __future__ import annotations

from typing import Any

from ..domain.errors import ConcurrentChange
from ..domain.lifecycle import check_item_transition, check_order_transition
from .ports import UnitOfWork


def transition_item(uow: UnitOfWork, row: dict[str, Any], target: str, cause: str, **values: Any) -> dict[str, Any]:
    """Move a plan item to ``target`` (refused unless the life cycle allows it) and record why."""
    now = uow.clock.now()
    check_item_transition(row["id"], row["state"], target)
    changed = uow.plan.update_item(row["id"], row["state"], state=target, updated_at=now, **values)
    if not changed:
        raise ConcurrentChange(f"plan item {row['id']}")
    uow.events.add("PlanItemStateChangeEvent", {
        "item": row["id"], "key": row["key"], "name": row["name"], "from": row["state"],
        "to": target, "cause": cause, "attempts": values.get("attempts", row.get("attempts"))},
        now, order_id=row["order_id"], item_id=row["id"])
    return row | values | {"state": target, "updated_at": now}


def transition_order(uow: UnitOfWork, order: dict[str, Any], target: str, cause: str, **values: Any) -> dict[str, Any]:
    """Move an order to ``target``; every transition is recorded with its time and cause.
    Compare-and-set: the order changes only if it is still in the state it was read in
    (``order["state"]``); otherwise ConcurrentChange, and nothing is written."""
    if order["state"] == target:
        return order
    now = uow.clock.now()
    check_order_transition(order["id"], order["state"], target)
    if not uow.orders.compare_and_set(order["id"], order["state"], state=target, updated_at=now, **values):
        raise ConcurrentChange(f"order {order['id']}")
    uow.events.add("ProductOrderStateChangeEvent", {
        "order": order["id"], "from": order["state"], "to": target, "cause": cause},
        now, order_id=order["id"])
    return order | values | {"state": target, "updated_at": now}


def transition_orders(uow: UnitOfWork, orders: list[dict[str, Any]], target: str, cause: str,
                      **values: Any) -> list[dict[str, Any]]:
    """``transition_order`` for many orders going to the same state with the same values:
    one compare-and-set UPDATE for those coming from each state, one INSERT of the events.
    Returns the orders as they are now."""
    moving = [o for o in orders if o["state"] != target]
    if not moving:
        return list(orders)
    now = uow.clock.now()
    by_state: dict[str, list[str]] = {}
    for order in moving:
        check_order_transition(order["id"], order["state"], target)
        by_state.setdefault(order["state"], []).append(order["id"])
    for state, ids in by_state.items():
        if uow.orders.compare_and_set_many(ids, state, state=target, updated_at=now, **values) != len(ids):
            raise ConcurrentChange(f"orders {', '.join(ids[:3])}{'...' if len(ids) > 3 else ''}")
    uow.events.add_many([{"type": "ProductOrderStateChangeEvent", "order_id": o["id"], "payload": {
        "order": o["id"], "from": o["state"], "to": target, "cause": cause}} for o in moving], now)
    return [o | values | {"state": target, "updated_at": now} if o["state"] != target else o
            for o in orders]
