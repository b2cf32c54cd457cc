"""Use case: place an order (TMF622 POST productOrder).

Validate against the catalog and the customer's installed base, decompose, plan, and store
the order, its fulfillment lines, its plan and its creation event in one transaction. Bad
input changes nothing. Large orders are planned after the acknowledgement (plan-order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.loaded_catalog import LoadedCatalog
from ..domain.ids import new_id
from ..engine.conflicts import retrying
from ..domain.errors import InvalidOrder, Issue
from ..domain.inventory import InstalledBase
from ..domain.lifecycle import OrderState
from ..domain.orders import ItemInput, validate_items, with_asset_ids
from ..domain.priority import order_priority
from ..domain.jeopardy import projected_completion
from ..domain.service_levels import apply_learned, expected_completion, lead_times, planned_rows
from ..engine.plan_order import INLINE_PLANNING_LIMIT, plan_items, planning_plan
from ..engine.transitions import transition_order
from ..engine.ports import Store


@dataclass(frozen=True)
class PlaceOrder:
    items: list[ItemInput]
    customer_id: str | None = None
    external_id: str | None = None
    requested_start_date: datetime | None = None
    requested_completion_date: datetime | None = None
    body: dict[str, Any] = field(default_factory=dict)
    related_orders: list[str] = field(default_factory=list)  # productOrderRelationship ids
    actor: str | None = None  # who placed it (the API key's name), for the history


def installed_base(store: Store, customer_id: str | None) -> InstalledBase:
    """The customer's installed base, as it is now (read-only)."""
    if customer_id is None:
        return InstalledBase.empty()
    with store.read() as uow:
        return uow.inventory.snapshot(customer_id)


@dataclass(frozen=True)
class PlacedOrder:
    """The order as it was stored and its plan, read in the transaction that stored them: what
    the answer to the placement shows (a worker may already have moved it on since)."""

    id: str
    order: dict[str, Any]
    plan: list[dict[str, Any]]


@retrying
def place_order(cmd: PlaceOrder, store: Store, catalog: LoadedCatalog, *,
                inline_limit: int = INLINE_PLANNING_LIMIT) -> PlacedOrder:
    """The new order, as stored. Raises InvalidOrder (nothing stored) on bad input.

    The order is validated and decomposed against the customer's installed base (MACD). An
    order of more than ``inline_limit`` items is stored with one ``plan-order`` item instead
    of its plan, which a worker builds after the acknowledgement (engine/plan_order.py)."""
    installed = installed_base(store, cmd.customer_id)
    items = validate_items(cmd.items, catalog.catalog, installed)
    fulfillable = [i for i in items if i.offering_id is not None]
    unfulfillable = [(idx, i) for idx, i in enumerate(items) if i.offering_id is None]
    if fulfillable and cmd.customer_id is None:
        raise InvalidOrder([Issue("relatedParty", "a party with role 'customer' is required")])
    order_id = new_id()
    items = with_asset_ids(items, new_id)
    deferred = not unfulfillable and len(items) > inline_limit
    lines, plan = [], None
    if deferred:
        plan = planning_plan(installed.relevant_to(i.product_id for i in items if i.product_id))
    elif not unfulfillable:
        lines, plan = plan_items(items, catalog.catalog, cmd.customer_id, installed, order_id)

    with store.uow() as uow:
        now = uow.clock.now()
        expected = projection = None
        if not unfulfillable:
            assert plan is not None
            if not deferred:
                apply_learned(plan.items, lines, uow.service_levels.learned())
            start = max(now, cmd.requested_start_date or now)
            rows = [] if deferred else planned_rows(plan.items)
            expected = expected_completion(
                rows, lead_times(catalog.catalog, (i.offering_id for i in items),
                                 (line.technical_product for line in lines)), start)
            # as the jeopardy sweep projects it (engine/jeopardy.py), which then leaves it
            # until it moves; a deferred plan is projected once planned
            projection = None if deferred else projected_completion(rows, now)
        order = {
            "id": order_id, "external_id": cmd.external_id, "state": OrderState.ACKNOWLEDGED.value,
            "customer_id": cmd.customer_id, "catalog_version": catalog.version, "revision": 1,
            "order_date": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requested_start_date": cmd.requested_start_date,
            "requested_completion_date": cmd.requested_completion_date,
            "expected_completion_date": expected, "projected_completion": projection,
            "body": cmd.body, "items": [i.as_dict() for i in items],
            "related_orders": list(cmd.related_orders),
            "created_at": now, "updated_at": now}
        uow.orders.add(order)
        uow.events.add("ProductOrderCreateEvent", {"order": order_id, "state": order["state"],
                                                   "catalog_version": catalog.version,
                                                   **({"actor": cmd.actor} if cmd.actor else {})},
                       now, order_id=order_id)
        if unfulfillable:
            # Well-formed for TMF622, but nothing says what to provide: acknowledged, then
            # rejected at validation (docs/decisions.md, "Orders without a product offering").
            reasons = "; ".join(f"productOrderItem[{idx}] ('{i.id}'): no productOffering.id, "
                                "so nothing says what to provide" for idx, i in unfulfillable)
            transition_order(uow, order, OrderState.REJECTED, reasons, state_reason=reasons)
        else:
            assert plan is not None
            uow.orders.add_lines(order_id, 1, lines)
            uow.plan.add_plan(order_id, 1, plan, now,
                              not_before=None if deferred else cmd.requested_start_date,
                              priority=order_priority(cmd.body))
            if not plan.items:
                transition_order(uow, order, OrderState.COMPLETED, "nothing to fulfil",
                                 completion_date=now)
        placed = PlacedOrder(order_id, uow.orders.get(order_id), uow.plan.for_order(order_id, 1))
        uow.commit()
    return placed
