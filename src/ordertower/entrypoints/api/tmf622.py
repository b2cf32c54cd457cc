"""TMF622 v4 Product Ordering: productOrder POST, list, get."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ...domain.errors import Issue
from ...domain.orders import ItemInput
from ...services import queries
from ...services.place_order import PlaceOrder, place_order
from .idempotency import idempotent_route
from .json_body import read_json
from .paging import count_headers, fields_only, list_query
from .params import DEFAULT_LIMIT, Fields, Limit, Offset, id_path, text_query, timestamp_query
from .problems import Problem, issues_from_pydantic
from .representations import CANCEL_BASE, ORDER_BASE, cancel_resource, product_order, select_fields
from .openapi_document import json_body
from .roles import require_role
from .tmf622_models import CancelProductOrderCreate, ProductOrderCreate, ProductOrderUpdate

router = APIRouter(prefix="/tmf-api/productOrderingManagement/v4", tags=["TMF622"])
ORDER_FILTERS = ("id", "state", "externalId", "relatedParty.id", "orderDate")
_FILTER_COLUMNS = {"id": "id", "state": "state", "externalId": "external_id",
                   "relatedParty.id": "relatedParty.id", "orderDate": "order_date"}


def _customer(parsed: ProductOrderCreate) -> str | None:
    return next((p.id for p in parsed.relatedParty if (p.role or "").lower() == "customer"), None)


def _parent(item) -> str | None:
    for rel in item.productOrderItemRelationship:
        if rel.relationshipType.lower() in ("isbundledby", "bundled", "ischildof", "bundledby"):
            return rel.id
    return None


def item_inputs(items) -> list[ItemInput]:
    return [ItemInput(
        id=i.id, action=i.action, offering_id=i.productOffering.id if i.productOffering else None,
        characteristics=tuple((c.name, c.value) for c in (i.product.productCharacteristic
                                                          if i.product else [])),
        product_id=i.product.id if i.product else None, parent_id=_parent(i),
        changes_allowed=i.changesAllowed is not False, quantity=i.quantity)
        for i in items]


def command_from(body: object) -> PlaceOrder:
    if not isinstance(body, dict):
        raise Problem(400, "bad-request", "Bad request", "A productOrder is a JSON object.",
                      [Issue("body", "expected a JSON object")])
    try:
        parsed = ProductOrderCreate.model_validate(body)
    except ValidationError as exc:
        raise Problem(400, "bad-request", "Invalid product order",
                      "The product order does not follow TMF622.",
                      issues_from_pydantic(exc.errors(include_url=False))) from None
    items = item_inputs(parsed.productOrderItem)
    return PlaceOrder(items=items, customer_id=_customer(parsed), external_id=parsed.externalId,
                      requested_start_date=parsed.requestedStartDate,
                      requested_completion_date=parsed.requestedCompletionDate,
                      body=body, related_orders=[r.id for r in parsed.productOrderRelationship])


@router.post("/productOrder", status_code=201, openapi_extra=json_body(ProductOrderCreate))
@idempotent_route("POST productOrder")
async def create_product_order(request: Request) -> JSONResponse:
    c = request.app.state.container
    body = await read_json(request, max_bytes=c.settings.max_order_body_bytes,
                           max_depth=c.settings.max_json_depth)
    cmd = command_from(body)
    if getattr(request.state, "actor", None):  # the API key's name (none under --no-auth)
        cmd = replace(cmd, actor=request.state.actor)
    # c.catalog may poll the database for a newer version: in the thread, never on the loop
    # answered with the order as placed, read in the transaction that stored it: an in-process
    # worker may have planned (or rejected) it since, which a GET shows
    placed = await asyncio.to_thread(lambda: place_order(cmd, c.store, c.catalog,
                                                         inline_limit=c.settings.inline_planning_limit))
    return JSONResponse(product_order(placed.order, placed.plan), status_code=201,
                        headers={"Location": f"{ORDER_BASE}/{placed.id}"})


OrderId = id_path("The product order's id.")


@router.get("/productOrder")
def list_product_orders(
        request: Request, fields: Fields = None, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT,
        id: text_query("Only this order.") = None,
        state: text_query("Only orders in this state (acknowledged, inProgress, completed...).") = None,
        externalId: text_query("Only orders with this client reference.") = None,
        related_party_id: text_query("Only this customer's orders.", alias="relatedParty.id") = None,
        orderDate: timestamp_query("Only orders placed at this instant.") = None) -> JSONResponse:
    c = request.app.state.container
    q = list_query(request, ORDER_FILTERS)
    filters = {_FILTER_COLUMNS[k]: v for k, v in q.filters.items()}
    orders, plans, total = queries.list_orders(c.store, filters, q.offset, q.limit)
    shown = [select_fields(product_order(o, plans[o["id"]]), q.fields) for o in orders]
    return JSONResponse(shown, headers=count_headers(total, len(shown)))


@router.get("/productOrder/{order_id}")
def get_product_order(order_id: OrderId, request: Request, fields: Fields = None) -> JSONResponse:
    c = request.app.state.container
    order, plan = queries.order_with_plan(c.store, order_id)
    return JSONResponse(select_fields(product_order(order, plan), fields_only(request)))


MAX_REASON = 1000
PATCHABLE = {"productOrderItem", "revision", "description", "note", "requestedCompletionDate",
             "requestedStartDate", "@type", "@baseType", "@schemaLocation"}


@router.patch("/productOrder/{order_id}", openapi_extra=json_body(
    ProductOrderUpdate, media_types=("application/merge-patch+json", "application/json")))
@idempotent_route("PATCH productOrder/{order_id}")
async def amend_product_order(
        order_id: OrderId, request: Request,
        force: Annotated[Literal["true", "false"] | None, Query(
            description="true: an operator forces the amendment past the point of no return "
                        "(docs/in-flight-changes.md); needs reason")] = None,
        reason: text_query("Why the amendment is forced (with force=true).", max_length=MAX_REASON) = None,
) -> JSONResponse:
    """An amendment (supplemental order): merge-patch carrying the new productOrderItem list.
    ``revision`` (optional) numbers it; one not newer than the order's is refused (409)."""
    c = request.app.state.container
    body = await read_json(request, max_bytes=c.settings.max_order_body_bytes,
                           max_depth=c.settings.max_json_depth)
    if not isinstance(body, dict):
        raise Problem(400, "bad-request", "Bad request", "A productOrder patch is a JSON object.",
                      [Issue("body", "expected a JSON object")])
    fixed = sorted(set(body) - PATCHABLE)
    if fixed:
        raise Problem(400, "bad-request", "Cannot change these attributes",
                      "An amendment changes productOrderItem (and description, note, dates).",
                      [Issue(k, "cannot be changed by an amendment") for k in fixed])
    if "productOrderItem" not in body:
        raise Problem(400, "bad-request", "Bad request", "An amendment carries the new productOrderItem list.",
                      [Issue("productOrderItem", "required: the new list of order items")])
    revision = body.get("revision")
    if revision is not None and (not isinstance(revision, int) or isinstance(revision, bool) or revision < 1):
        raise Problem(400, "bad-request", "Bad request", "revision is a positive whole number.",
                      [Issue("revision", "expected a positive whole number")])
    try:
        parsed = ProductOrderUpdate.model_validate(body)
    except ValidationError as exc:
        raise Problem(400, "bad-request", "Invalid product order items",
                      "The productOrderItem list does not follow TMF622.",
                      issues_from_pydantic(exc.errors(include_url=False))) from None
    from ...services.amend_order import AmendOrder, amend
    from .common import actor

    cmd = AmendOrder(order_id=order_id, items=item_inputs(parsed.productOrderItem), body=body,
                     revision=revision, actor=actor(request), force_reason=_force_reason(request, force, reason))
    amended = await asyncio.to_thread(lambda: amend(c.store, c.catalog, cmd,
                                                    catalog_of=c.catalogs.for_release))
    order, plan = await asyncio.to_thread(queries.order_with_plan, c.store, order_id)
    shown = product_order(order, plan)
    if amended.warnings:  # soft points of no return passed (docs/in-flight-changes.md)
        shown["warnings"] = amended.warnings
    return JSONResponse(shown, headers={"ETag": f'"{order["revision"]}"'})



def _force_reason(request: Request, force: str | None, reason: str | None) -> str | None:
    """``?force=true&reason=...``: an operator forces an amendment past the point of no return
    (docs/in-flight-changes.md). Returns the reason when forced, else None."""
    if force != "true":
        return None
    require_role(request, "operator", "A forced amendment (force=true)")
    reason = (reason or "").strip()
    if not reason:
        raise Problem(400, "bad-request", "Bad request",
                      "A forced amendment says why, in reason (up to 1000 characters).",
                      [Issue("reason", "required with force=true, 1 to 1000 characters")])
    return reason


@router.post("/cancelProductOrder", status_code=201, openapi_extra=json_body(CancelProductOrderCreate))
@idempotent_route("POST cancelProductOrder")
async def cancel_product_order(request: Request) -> JSONResponse:
    from ...services.cancel_order import request_cancellation

    c = request.app.state.container
    body = await read_json(request, max_bytes=c.settings.max_body_bytes,
                           max_depth=c.settings.max_json_depth)
    order_ref = body.get("productOrder") if isinstance(body, dict) else None
    if not isinstance(order_ref, dict) or not isinstance(order_ref.get("id"), str) or not order_ref["id"]:
        raise Problem(400, "bad-request", "Bad request", "Name the order to cancel in productOrder.id.",
                      [Issue("productOrder.id", "required")])
    reason = body.get("cancellationReason")
    if reason is not None and not isinstance(reason, str):
        raise Problem(400, "bad-request", "Bad request", "cancellationReason is text.",
                      [Issue("cancellationReason", "expected a string")])
    row = await asyncio.to_thread(request_cancellation, c.store, order_ref["id"], reason, body)
    return JSONResponse(cancel_resource(row), status_code=201,
                        headers={"Location": f"{CANCEL_BASE}/{row['id']}"})


@router.get("/cancelProductOrder")
def list_cancel_product_orders(
        request: Request, fields: Fields = None, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT,
        state: text_query("Only cancellations in this state.") = None,
        product_order_id: text_query("Only cancellations of this order.", alias="productOrder.id") = None,
) -> JSONResponse:
    from ...services.cancel_order import list_cancellations

    q = list_query(request, ("state", "productOrder.id"))
    rows = list_cancellations(request.app.state.container.store, q.filters.get("productOrder.id"),
                              q.filters.get("state"))
    page = rows[q.offset:q.offset + q.limit]
    return JSONResponse([select_fields(cancel_resource(r), q.fields) for r in page],
                        headers=count_headers(len(rows), len(page)))


@router.get("/cancelProductOrder/{cancel_id}")
def get_cancel_product_order(cancel_id: id_path("The cancellation's id."), request: Request,
                             fields: Fields = None) -> JSONResponse:
    from ...services.cancel_order import get_cancellation

    row = get_cancellation(request.app.state.container.store, cancel_id)
    return JSONResponse(select_fields(cancel_resource(row), fields_only(request)))
