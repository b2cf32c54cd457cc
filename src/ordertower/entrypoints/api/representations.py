"""How stored orders, plans and assets are shown (TMF622, TMF637, operations API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.rules import AMENDABLE_ORDER_STATES, frozen_roots
from ...domain.lifecycle import DONE_ITEM_STATES, FINAL_ORDER_STATES, STARTED_ITEM_STATES

ORDER_BASE = "/tmf-api/productOrderingManagement/v4/productOrder"
CANCEL_BASE = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
PRODUCT_BASE = "/tmf-api/productInventory/v4/product"


def _related_parties(body: dict[str, Any]) -> list[Any]:
    """The order's relatedParty as sent, each with the ``@referredType`` TMF622 requires of a
    RelatedParty (a client that left it out gets ``Individual`` for the customer, as TMF637
    shows the customer, and ``Party`` for any other role)."""
    parties = body.get("relatedParty") or []
    if not isinstance(parties, list):
        return []
    return [p if not isinstance(p, dict) or "@referredType" in p else
            {**p, "@referredType": "Individual" if str(p.get("role", "")).lower() == "customer" else "Party"}
            for p in parties]


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _item_state(order: dict[str, Any], roots: set[str], plan: list[dict[str, Any]] | None) -> str:
    if order["state"] in FINAL_ORDER_STATES or plan is None:
        return order["state"]
    serving = [p for p in plan if roots & set(p["root_item_ids"] or [])]
    if any(p["state"] == "fallout" for p in serving):
        return "held"
    if serving and all(p["state"] in DONE_ITEM_STATES for p in serving):
        return "completed"
    if any(p["state"] in STARTED_ITEM_STATES for p in serving):
        return "inProgress"
    return "acknowledged"


def product_order(order: dict[str, Any], plan: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = dict(order["body"])
    href = f"{ORDER_BASE}/{order['id']}"
    sent_items = {i.get("id"): i for i in body.get("productOrderItem", []) if isinstance(i, dict)}
    parents = {i["id"]: i.get("parent_id") for i in order["items"]}
    items = []
    frozen = frozen_roots(plan or [])
    amendable = order["state"] in AMENDABLE_ORDER_STATES
    # the instances of an item of quantity N (``2[1]``, ``2[2]``...) are shown as the item sent
    shown_ids: set[str] = set()
    roots_of: dict[str, set[str]] = {}
    for item in order["items"]:
        root = item["id"]
        while parents.get(root):
            root = parents[root]
        roots_of.setdefault(item.get("item_of") or item["id"], set()).add(root)
    for item in order["items"]:
        sent_id = item.get("item_of") or item["id"]
        if sent_id in shown_ids:
            continue
        shown_ids.add(sent_id)
        shown = dict(sent_items.get(sent_id, {}))
        roots = roots_of[sent_id]
        shown.update({"id": sent_id, "action": shown.get("action") or item["action"],
                      "state": _item_state(order, roots, plan), "@type": "ProductOrderItem",
                      # ordertower: may this item still be amended or cancelled?
                      "changesAllowed": amendable and not roots & frozen
                      and item.get("changes_allowed", True) is not False})
        if item.get("quantity") is not None:
            shown["quantity"] = item["quantity"]
        if item.get("offering_id"):
            shown["productOffering"] = {"id": item["offering_id"], "@referredType": "ProductOffering"}
            product = dict(shown.get("product") or {})
            product["productCharacteristic"] = [{"name": k, "value": v}
                                                for k, v in item["attributes"].items()]
            shown["product"] = product
        items.append(shown)
    out = {k: v for k, v in body.items() if k not in ("productOrderItem",)}
    out.update({
        "id": order["id"], "href": href, "@type": "ProductOrder",
        "state": order["state"], "orderDate": order["order_date"], "revision": order["revision"],
        "completionDate": iso(order["completion_date"]),
        "requestedStartDate": iso(order["requested_start_date"]) or body.get("requestedStartDate"),
        "requestedCompletionDate": iso(order["requested_completion_date"])
        or body.get("requestedCompletionDate"),
        "externalId": order["external_id"], "relatedParty": _related_parties(body),
        # the service levels' date, fixed at placement (what jeopardy counts against when no
        # date was requested); the projection is now plus what remains, recomputed by the sweep
        "expectedCompletionDate": iso(order.get("expected_completion_date")),
        "projectedCompletionDate": iso(order.get("projected_completion")),
        "jeopardy": order.get("jeopardy"),
        "productOrderItem": items,
    })
    if order.get("state_reason"):
        out["note"] = list(body.get("note") or []) + [{"text": order["state_reason"],
                                                        "author": "ordertower"}]
    return {k: v for k, v in out.items() if v is not None}


def product(asset: dict[str, Any]) -> dict[str, Any]:
    shown = {
        "id": asset["id"], "href": f"{PRODUCT_BASE}/{asset['id']}", "@type": "Product",
        "name": asset["name"], "status": asset["status"], "isBundle": False,
        "startDate": iso(asset["created_at"]),
        "productOffering": {"id": asset["offering_id"], "@referredType": "ProductOffering"},
        "productCharacteristic": [{"name": k, "value": v} for k, v in asset["attributes"].items()],
        # ordertower prices nothing (the catalog has no prices; billing rates the product):
        # the list of prices it knows for the product is empty, and said so (TMF637 profile).
        "productPrice": [],
        "relatedParty": [{"id": asset["customer_id"], "role": "customer",
                          "@referredType": "Individual"}] if asset["customer_id"] else [],
        "productOrderItem": [{"productOrderId": asset["order_id"],
                              "productOrderHref": f"{ORDER_BASE}/{asset['order_id']}",
                              "orderItemId": asset["order_item_id"].split("[", 1)[0],
                              "orderItemAction": "add", "@referredType": "ProductOrderItem"}],
        "realizingResource": [{"id": str(line), "@referredType": "FulfillmentLine"}
                              for line in asset["lines"]],
    }
    if asset.get("instance") is not None:  # one instance of an item of quantity N
        shown["instance"] = asset["instance"]
        shown["instanceOf"] = asset["instance_of"]
    if asset.get("billing_account_id"):
        shown["billingAccount"] = {"id": asset["billing_account_id"], "@referredType": "BillingAccount"}
    if asset.get("terminated_at"):
        shown["terminationDate"] = iso(asset["terminated_at"])
    if asset.get("root_asset_id"):  # a member of a bundle
        shown["productRelationship"] = [{"relationshipType": "bundled", "product": {
            "id": asset["root_asset_id"], "href": f"{PRODUCT_BASE}/{asset['root_asset_id']}"}}]
    return shown


def plan_item(row: dict[str, Any], key_to_id: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row["id"], "key": row["key"], "name": row["name"], "type": row["type"],
        "system": row["system"], "state": row["state"], "line_id": row["line_id"],
        "depends_on": [key_to_id.get(k, k) for k in row["depends_on"]],
        "depends_on_keys": list(row["depends_on"]), "attempts": row["attempts"],
        "ponr": row["ponr"], "revision": row["revision"], "not_before": iso(row["not_before"]),
        "started_at": iso(row["started_at"]), "finished_at": iso(row["finished_at"]),
        "updated_at": iso(row["updated_at"]), "created_at": iso(row["created_at"]),
        "last_error": row["last_error"], "expected_duration_s": row["expected_duration_s"],
        "output": row["output"], "jeopardy": row.get("jeopardy") or "GREEN",
        "deadline_at": iso(row.get("deadline_at")),
    }


def event_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One event of the outbox as the operations API shows it (history, server-sent events):
    ``id`` (the event's id), ``sequence`` (its position in the outbox), ``type``, ``at``,
    ``order``, ``item`` and the event's own fields."""
    return {"id": row["event_id"], "sequence": row["id"], "type": row["type"],
            "at": iso(row["occurred_at"]), "order": row["order_id"], "item": row["item_id"],
            **(row["payload"] or {})}


# what the official TMF622 v4 document requires of each resource: kept whatever ``fields`` says
REQUIRED_BY_TYPE = {"ProductOrder": {"productOrderItem"}, "CancelProductOrder": {"productOrder"}}


def select_fields(obj: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """TMF630 attribute selection: the attributes asked for, plus ``id``, ``href`` and those
    the resource's official schema requires (a client validating against it must not break)."""
    if not fields:
        return obj
    keep = set(fields) | {"id", "href"} | REQUIRED_BY_TYPE.get(obj.get("@type", ""), set())
    return {k: v for k, v in obj.items() if k in keep}


def cancel_resource(row: dict[str, Any]) -> dict[str, Any]:
    out = {"id": row["id"], "href": f"{CANCEL_BASE}/{row['id']}", "@type": "CancelProductOrder",
           "state": row["state"], "cancellationReason": row["reason"],
           "requestedCancellationDate": iso(row["created_at"]),
           "effectiveCancellationDate": iso(row["effective_at"]),
           "productOrder": {"id": row["order_id"], "href": f"{ORDER_BASE}/{row['order_id']}",
                            "@referredType": "ProductOrder"}}
    if row.get("error_message"):
        out["errorMessage"] = row["error_message"]
    return {k: v for k, v in out.items() if v is not None}
