"""The explorer and the installed base in the operations API (/api/v1).

- ``POST /api/v1/catalog/explain``: a TMF622 productOrder body -> its decomposition tree and
  the plan it would build, against the customer's installed base; nothing is stored.
- ``GET /api/v1/inventory?customer=ID``: the customer's technical inventory items.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from ...domain.errors import Issue
from ...services import queries
from ...services.explain_order import explain_order
from .json_body import read_json
from .problems import Problem
from .representations import iso
from .openapi_document import json_body
from .params import text_query
from .tmf622 import command_from
from .tmf622_models import ProductOrderCreate

router = APIRouter(prefix="/api/v1", tags=["operations"])


@router.post("/catalog/explain", openapi_extra=json_body(ProductOrderCreate))
async def explain(request: Request) -> dict:
    c = request.app.state.container
    body = await read_json(request, max_bytes=c.settings.max_order_body_bytes,
                           max_depth=c.settings.max_json_depth)
    cmd = command_from(body)
    explanation = await asyncio.to_thread(lambda: explain_order(cmd, c.catalog, c.store))
    return explanation.as_dict()


@router.get("/inventory")
def inventory(request: Request, customer: text_query("The customer's id.") = None,
              status: text_query("Only items in this status.") = None,
              asset: text_query("The items an asset (TMF637 product id) uses.") = None) -> dict:
    if not customer and not asset:
        raise Problem(400, "bad-request", "Bad request", "Name the customer (or an asset).",
                      [Issue("customer", "required unless asset is given")])
    rows = queries.inventory(request.app.state.container.store, customer, status, asset)
    return {"customer": customer, "items": [
        {"key": r["key"], "technical_product": r["technical_product"], "status": r["status"],
         "attributes": r["attributes"], "assets": r["assets"], "lines": r["lines"],
         "created_at": iso(r["created_at"]), "updated_at": iso(r["updated_at"])} for r in rows]}
