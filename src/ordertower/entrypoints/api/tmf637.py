"""TMF637 v4 Product Inventory: the customer's assets (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...services import queries
from .paging import count_headers, fields_only, list_query
from .representations import product, select_fields

router = APIRouter(prefix="/tmf-api/productInventory/v4", tags=["TMF637"])
PRODUCT_FILTERS = ("id", "status", "name", "relatedParty.id", "productOffering.id")


@router.get("/product")
def list_products(request: Request) -> JSONResponse:
    c = request.app.state.container
    q = list_query(request, PRODUCT_FILTERS)
    rows, total = queries.list_assets(c.store, q.filters, q.offset, q.limit)
    shown = [select_fields(product(r), q.fields) for r in rows]
    return JSONResponse(shown, headers=count_headers(total, len(shown)))


@router.get("/product/{product_id}")
def get_product(product_id: str, request: Request) -> JSONResponse:
    c = request.app.state.container
    return JSONResponse(select_fields(product(queries.get_asset(c.store, product_id)),
                                      fields_only(request)))
