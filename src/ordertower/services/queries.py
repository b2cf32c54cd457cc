"""Read-side use cases: what the API and CLI show. Read-only transactions."""

from __future__ import annotations

from typing import Any

from ..domain.errors import NotFound


def order_with_plan(store, order_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with store.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("product order", order_id)
        return order, uow.plan.for_order(order_id, order["revision"])


def list_orders(store, filters: dict[str, Any], offset: int, limit: int):
    with store.read() as uow:
        orders, total = uow.orders.list(filters, offset, limit)
        plans = {o["id"]: uow.plan.for_order(o["id"], o["revision"]) for o in orders}
        return orders, plans, total


def decomposition(store, order_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with store.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("product order", order_id)
        return order, uow.orders.lines(order_id, order["revision"])


def history(store, order_id: str) -> list[dict[str, Any]]:
    with store.read() as uow:
        if uow.orders.get(order_id) is None:
            raise NotFound("product order", order_id)
        return uow.events.for_order(order_id)


def item_attempts(store, item_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with store.read() as uow:
        item = uow.plan.get(item_id)
        if item is None:
            raise NotFound("plan item", item_id)
        return item, uow.plan.attempts(item_id)


def get_asset(store, asset_id: str) -> dict[str, Any]:
    with store.read() as uow:
        asset = uow.assets.get(asset_id)
        if asset is None:
            raise NotFound("product", asset_id)
        return asset


def list_assets(store, filters: dict[str, Any], offset: int, limit: int):
    with store.read() as uow:
        return uow.assets.list(filters, offset, limit)
