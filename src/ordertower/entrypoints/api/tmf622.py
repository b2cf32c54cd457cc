"""TMF622 v4 Product Ordering: productOrder POST, list, get."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from ...domain.errors import Issue
from ...domain.orders import ItemInput
from ...services import queries
from ...services.place_order import PlaceOrder, place_order
from .json_body import read_json
from .paging import count_headers, fields_only, list_query
from .problems import Problem, issues_from_pydantic
from .representations import ORDER_BASE, product_order, select_fields
from .tmf622_models import ProductOrderCreate

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
    items = [ItemInput(
        id=i.id, action=i.action, offering_id=i.productOffering.id if i.productOffering else None,
        characteristics=tuple((c.name, c.value) for c in (i.product.productCharacteristic
                                                          if i.product else [])),
        product_id=i.product.id if i.product else None, parent_id=_parent(i))
        for i in parsed.productOrderItem]
    return PlaceOrder(items=items, customer_id=_customer(parsed), external_id=parsed.externalId,
                      requested_start_date=parsed.requestedStartDate,
                      requested_completion_date=parsed.requestedCompletionDate,
                      body=body, related_orders=[r.id for r in parsed.productOrderRelationship])


@router.post("/productOrder", status_code=201)
async def create_product_order(request: Request) -> JSONResponse:
    c = request.app.state.container
    body = await read_json(request, max_bytes=c.settings.max_body_bytes,
                           max_depth=c.settings.max_json_depth)
    cmd = command_from(body)
    order_id = await asyncio.to_thread(place_order, cmd, c.store, c.catalog,
                                       inline_limit=c.settings.inline_planning_limit)
    order, plan = await asyncio.to_thread(queries.order_with_plan, c.store, order_id)
    return JSONResponse(product_order(order, plan), status_code=201,
                        headers={"Location": f"{ORDER_BASE}/{order_id}"})


@router.get("/productOrder")
def list_product_orders(request: Request) -> JSONResponse:
    c = request.app.state.container
    q = list_query(request, ORDER_FILTERS)
    filters = {_FILTER_COLUMNS[k]: v for k, v in q.filters.items()}
    orders, plans, total = queries.list_orders(c.store, filters, q.offset, q.limit)
    shown = [select_fields(product_order(o, plans[o["id"]]), q.fields) for o in orders]
    return JSONResponse(shown, headers=count_headers(total, len(shown)))


@router.get("/productOrder/{order_id}")
def get_product_order(order_id: str, request: Request) -> JSONResponse:
    c = request.app.state.container
    order, plan = queries.order_with_plan(c.store, order_id)
    return JSONResponse(select_fields(product_order(order, plan), fields_only(request)))
