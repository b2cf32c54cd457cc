"""Read-side use cases: what the API and CLI show. Read-only transactions."""

from __future__ import annotations

from datetime import datetime
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


def search_orders(store: Store, limit: int = 100, **filters: Any) -> list[dict[str, Any]]:
    """The newest orders matching the filters (``OrderRepository.search``)."""
    with store.read() as uow:
        return uow.orders.search(limit=limit, **filters)


def plan_at(store: Store, order_id: str, at: datetime):
    """The order's plan as it stood at ``at``, rebuilt from its events (domain/plan_at.py);
    None before the order existed."""
    from ..domain.plan_at import ITEM_EVENT, ORDER_EVENT, REVISION_EVENT, plan_at as rebuild

    with store.read() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound("product order", order_id)
        items = uow.plan.for_order(order_id)
        events = uow.events.for_order(order_id, (ITEM_EVENT, ORDER_EVENT, REVISION_EVENT))
    return order, rebuild(order, items, events, at)


def decomposition_tree(store: Store, catalog, order_id: str) -> list[dict[str, Any]]:
    """The order's decomposition as a tree (domain/lineage_tree.py) from its stored lines;
    how each value was mapped comes from decomposing its items again with the catalog when
    the order was placed with this catalog version (else it is left out)."""
    from ..domain.decomposition import decompose
    from ..domain.errors import DomainError
    from ..domain.lineage_tree import tree
    from ..domain.orders import OrderItem

    order, lines = decomposition(store, order_id)
    how: dict[str, dict[str, str]] = {}
    if order["catalog_version"] == catalog.version:
        try:
            items = [OrderItem.from_dict(i) for i in order["items"]]
            how = decompose(items, catalog.catalog, order["customer_id"], None, order_id=order_id,
                            trace=True).mapping_notes
        except (DomainError, KeyError, TypeError, ValueError):
            how = {}
    return tree(order["items"], lines, how)


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


def audit_log(store: Store, filters: dict[str, Any], offset: int, limit: int):
    """Who did what: every event (state changes, operator actions, keys) with its actor."""
    with store.read() as uow:
        return uow.events.audit(filters, offset, limit)
