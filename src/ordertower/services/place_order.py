"""Use case: place an order (TMF622 POST productOrder).

Validate against the catalog, decompose, plan, and store the order, its fulfillment lines,
its plan and its creation event in one transaction. Bad input changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..adapters.catalog_files import LoadedCatalog
from ..adapters.store.repositories import new_id
from ..domain.decomposition import decompose
from ..domain.errors import InvalidOrder, Issue
from ..domain.lifecycle import OrderState
from ..domain.orders import ItemInput, root_of, validate_items
from ..domain.planning import build_plan
from ..engine.transitions import transition_order


@dataclass(frozen=True)
class PlaceOrder:
    items: list[ItemInput]
    customer_id: str | None = None
    external_id: str | None = None
    requested_start_date: datetime | None = None
    requested_completion_date: datetime | None = None
    body: dict[str, Any] = field(default_factory=dict)


def place_order(cmd: PlaceOrder, store, catalog: LoadedCatalog) -> str:
    """Returns the new order's id. Raises InvalidOrder (nothing stored) on bad input."""
    items = validate_items(cmd.items, catalog.catalog)
    fulfillable = [i for i in items if i.offering_id is not None]
    unfulfillable = [(idx, i) for idx, i in enumerate(items) if i.offering_id is None]
    if fulfillable and cmd.customer_id is None:
        raise InvalidOrder([Issue("relatedParty", "a party with role 'customer' is required")])
    parents = {i.id: i.parent_id for i in items}
    roots = sorted({root_of(i.id, parents) for i in fulfillable})
    decomposition = decompose(items, catalog.catalog, cmd.customer_id)
    plan = build_plan(decomposition, catalog.catalog, roots) if not unfulfillable else None

    with store.uow() as uow:
        now = uow.clock.now()
        order_id = new_id()
        order = {
            "id": order_id, "external_id": cmd.external_id, "state": OrderState.ACKNOWLEDGED.value,
            "customer_id": cmd.customer_id, "catalog_version": catalog.version, "revision": 1,
            "order_date": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requested_start_date": cmd.requested_start_date,
            "requested_completion_date": cmd.requested_completion_date,
            "body": cmd.body, "items": [i.as_dict() for i in items],
            "created_at": now, "updated_at": now}
        uow.orders.add(order)
        uow.events.add("ProductOrderCreateEvent", {"order": order_id, "state": order["state"],
                                                   "catalog_version": catalog.version},
                       now, order_id=order_id)
        if unfulfillable:
            # Well-formed for TMF622, but nothing says what to provide: acknowledged, then
            # rejected at validation (docs/decisions.md, "Orders without a product offering").
            reasons = "; ".join(f"productOrderItem[{idx}] ('{i.id}'): no productOffering.id, "
                                "so nothing says what to provide" for idx, i in unfulfillable)
            transition_order(uow, order, OrderState.REJECTED, reasons, state_reason=reasons)
        else:
            assert plan is not None
            uow.orders.add_lines(order_id, 1, decomposition.lines)
            uow.plan.add_plan(order_id, 1, plan, now)
            if not plan.items:
                transition_order(uow, order, OrderState.COMPLETED, "nothing to fulfil",
                                 completion_date=now)
        uow.commit()
    return order_id
