"""TMF notification bodies (TMF622, TMF637) for events of the outbox, as hub listeners get them.

The resource in ``event`` (``productOrder``, ``cancelProductOrder``, ``product``) is rendered
when the event is delivered, from the rows as they are then, exactly as ``GET`` shows it; the
fact the event records is then set on it: the order's ``state`` after a state change (or at
creation), a cancellation's ``state``, a product's ``status``. So a late delivery never shows
an order in a state it reaches later, while the rest (items, dates) is as of delivery.
"""

from __future__ import annotations

from typing import Any

from ...domain.notifications import TmfMapping, notification, tmf_mapping
from .representations import CANCEL_BASE, ORDER_BASE, PRODUCT_BASE, cancel_resource, iso, product, product_order


def render(store, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], TmfMapping | None, dict[str, Any] | None]]:
    """(event row, mapping, TMF body) for each row; mapping and body None for internal events."""
    mapped = [(row, tmf_mapping(row["type"], row["payload"])) for row in rows]
    wanted = {m.resource for _, m in mapped if m}
    orders: dict[str, Any] = {}
    cancels: dict[str, Any] = {}
    assets: dict[str, Any] = {}
    if wanted:
        with store.read() as uow:
            for row, m in mapped:
                if m is None:
                    continue
                if m.resource == "productOrder" and row["order_id"] and row["order_id"] not in orders:
                    order = uow.orders.get(row["order_id"])
                    orders[row["order_id"]] = (order, uow.plan.for_order(order["id"], order["revision"])) \
                        if order else None
                elif m.resource == "cancelProductOrder":
                    cancel_id = row["payload"].get("cancel")
                    if cancel_id and cancel_id not in cancels:
                        cancels[cancel_id] = uow.changes.cancel(cancel_id)
                elif m.resource == "product":
                    asset_id = row["payload"].get("product")
                    if asset_id and asset_id not in assets:
                        assets[asset_id] = uow.assets.get(asset_id)
    out = []
    for row, m in mapped:
        if m is None:
            out.append((row, None, None))
            continue
        payload = row["payload"] or {}
        if m.resource == "productOrder":
            found = orders.get(row["order_id"])
            resource = product_order(*found) if found else {
                "id": row["order_id"], "href": f"{ORDER_BASE}/{row['order_id']}", "@type": "ProductOrder"}
            state = payload.get("to") if row["type"] == "ProductOrderStateChangeEvent" else \
                payload.get("state") if row["type"] == "ProductOrderCreateEvent" else None
            if state:
                resource["state"] = state
            if row["type"] == "JeopardyChangeEvent" and payload.get("to"):
                resource["jeopardy"] = payload["to"]  # the level it changed to, as of the event
        elif m.resource == "cancelProductOrder":
            found = cancels.get(payload.get("cancel"))
            resource = cancel_resource(found) if found else {
                "id": payload.get("cancel"), "href": f"{CANCEL_BASE}/{payload.get('cancel')}",
                "@type": "CancelProductOrder",
                "productOrder": {"id": row["order_id"], "href": f"{ORDER_BASE}/{row['order_id']}",
                                 "@referredType": "ProductOrder"}}
            if payload.get("state"):
                resource["state"] = payload["state"]
        else:
            found = assets.get(payload.get("product"))
            resource = product(found) if found else {
                "id": payload.get("product"), "href": f"{PRODUCT_BASE}/{payload.get('product')}",
                "@type": "Product"}
            if payload.get("status"):
                resource["status"] = payload["status"]
        description = payload.get("cause") or payload.get("reason")
        out.append((row, m, notification(m, row["event_id"], iso(row["occurred_at"]), resource,
                                         description if isinstance(description, str) else None)))
    return out
