"""What must hold of an order once the engine is done with it, however changes raced with
its work (amendments, system outages, several workers). Read straight from the store."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from ordertower.domain.lifecycle import FINAL_ITEM_STATES, FINAL_ORDER_STATES

FINAL_ITEMS = {s.value for s in FINAL_ITEM_STATES}
FINAL_ORDERS = {s.value for s in FINAL_ORDER_STATES}


def history_problems(uow, order_id: str) -> list[str]:
    """No item both cancelled and completed (a lost update); each item's row is in the state
    its last recorded transition says."""
    problems = []
    events = uow.events.for_order(order_id, ["PlanItemStateChangeEvent"])
    reached: dict[str, list[str]] = defaultdict(list)
    for e in events:
        reached[e["item_id"]].append(e["payload"]["to"])
    for item in uow.plan.for_order(order_id):
        path = reached[item["id"]]
        if {"cancelled", "completed"} <= set(path):
            problems.append(f"{item['key']} was both cancelled and completed: {path}")
        if path and path[-1] != item["state"]:
            problems.append(f"{item['key']} is {item['state']} but its last transition was to {path[-1]}")
    return problems


def settled_problems(uow, order_id: str) -> list[str]:
    """The order is final and agrees with its items: every item final, ``completed`` only
    with every item done or undone, no revision left queued."""
    order = uow.orders.get(order_id)
    items = uow.plan.for_order(order_id)
    problems = []
    if order["state"] not in FINAL_ORDERS:
        problems.append(f"order is {order['state']}")
    left = [(i["key"], i["state"]) for i in items if i["state"] not in FINAL_ITEMS]
    if left:
        problems.append(f"items not final: {left}")
    if order["state"] == "completed" and not any(i["revision"] == order["revision"] for i in items):
        problems.append("completed without a plan for its revision")
    queued = uow.changes.revisions(order_id, "queued")
    if queued:
        problems.append(f"revisions left queued: {[q['number'] for q in queued]}")
    return problems


def unexecuted_callouts(uow, order_id: str, keys_by_system: dict[str, set[str]]) -> list[str]:
    """Callouts whose work is done (completed, or undone since) whose Idempotency-Key (the
    item's id) the system never received."""
    missing = []
    for item in uow.plan.for_order(order_id):
        ran = item["type"] == "callout" and item["state"] in ("completed", "compensating", "compensated")
        if ran and item["id"] not in keys_by_system.get(item["system"], set()):
            missing.append(f"{item['key']} ({item['system']}) completed, but its key never reached it")
    return missing


def assert_orders_consistent(uow, order_ids: Iterable[str],
                             keys_by_system: dict[str, set[str]] | None = None) -> None:
    """Every check above, for every order; one failure lists them all."""
    report: dict[str, list[str]] = {}
    for order_id in order_ids:
        problems = settled_problems(uow, order_id) + history_problems(uow, order_id)
        if keys_by_system is not None:
            problems += unexecuted_callouts(uow, order_id, keys_by_system)
        if problems:
            report[order_id] = problems
    assert not report, "inconsistent orders:\n" + "\n".join(
        f"  {o}: {'; '.join(p)}" for o, p in list(report.items())[:20])


def owned(uow, order_id: str) -> dict[str, Any]:
    """The order's active assets: order item id -> (offering, colour or tier)."""
    out = {}
    for item in uow.orders.get(order_id)["items"]:
        asset = uow.assets.for_order_item(order_id, item["id"])
        if asset is not None and asset["status"] == "active":
            attrs = asset["attributes"]
            out[item["id"]] = (asset["offering_id"], attrs.get("color") or attrs.get("tier"))
    return out
