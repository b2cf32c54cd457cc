"""Read-side use cases: what the API and CLI show. Read-only transactions."""

from __future__ import annotations

from typing import Any

from ..domain.errors import NotFound
from ..engine.ports import Store


def order_with_plan(store: Store, order_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with store.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("product order", order_id)
        return order, uow.plan.for_order(order_id, order["revision"])


def list_orders(store: Store, filters: dict[str, Any], offset: int, limit: int):
    with store.read() as uow:
        orders, total = uow.orders.list(filters, offset, limit)
        plans = {o["id"]: uow.plan.for_order(o["id"], o["revision"]) for o in orders}
        return orders, plans, total


def decomposition(store: Store, order_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with store.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("product order", order_id)
        return order, uow.orders.lines(order_id, order["revision"])


def history(store: Store, order_id: str) -> dict[str, Any]:
    """What the order's timeline is made of: its events (outbox order), its items' attempts,
    its items (for keys and systems) and its revisions (for who asked for each)."""
    with store.read() as uow:
        if uow.orders.get(order_id) is None:
            raise NotFound("product order", order_id)
        return {"events": uow.events.for_order(order_id),
                "attempts": uow.plan.attempts_of_order(order_id),
                "items": uow.plan.for_order(order_id),
                "revisions": uow.changes.revisions(order_id)}


def item_attempts(store: Store, item_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with store.read() as uow:
        item = uow.plan.get(item_id)
        if item is None:
            raise NotFound("plan item", item_id)
        return item, uow.plan.attempts(item_id)


def get_asset(store: Store, asset_id: str) -> dict[str, Any]:
    with store.read() as uow:
        asset = uow.assets.get(asset_id)
        if asset is None:
            raise NotFound("product", asset_id)
        return asset


def list_assets(store: Store, filters: dict[str, Any], offset: int, limit: int):
    with store.read() as uow:
        return uow.assets.list(filters, offset, limit)


def jeopardy(store: Store) -> list[dict[str, Any]]:
    from ..domain.jeopardy import LEVELS

    out = []
    with store.read() as uow:
        for order_id in uow.orders.open_ids():
            order = uow.orders.get(order_id)
            items = [i for i in uow.plan.for_order(order_id, order["revision"])
                     if (i["jeopardy"] or "GREEN") != "GREEN"]
            if (order["jeopardy"] or "GREEN") == "GREEN" and not items:
                continue
            out.append({
                "order": order_id, "jeopardy": order["jeopardy"] or "GREEN", "state": order["state"],
                "projected_completion": order["projected_completion"].isoformat()
                if order["projected_completion"] else None,
                "requested_completion": order["requested_completion_date"].isoformat()
                if order["requested_completion_date"] else None,
                "items": [{"id": i["id"], "key": i["key"], "name": i["name"], "state": i["state"],
                           "jeopardy": i["jeopardy"], "expected_duration_s": i["expected_duration_s"],
                           "started_at": i["started_at"].isoformat() if i["started_at"] else None}
                          for i in items]})
    return sorted(out, key=lambda o: -LEVELS[o["jeopardy"]])


def inventory(store: Store, customer_id: str | None, status: str | None = None,
              asset_id: str | None = None) -> list[dict[str, Any]]:
    """Technical inventory items (the installed base), by customer and/or asset."""
    with store.read() as uow:
        return uow.inventory.items(customer_id, status, asset_id)


def revisions(store: Store, order_id: str) -> list[dict[str, Any]]:
    with store.read() as uow:
        if uow.orders.get(order_id) is None:
            raise NotFound("product order", order_id)
        return uow.changes.revisions(order_id)
