"""TMF637 v4 Product Inventory: the customer's assets (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...services import queries
from .paging import count_headers, fields_only, list_query
from .params import DEFAULT_LIMIT, Fields, Limit, Offset, id_path, text_query
from .representations import product, select_fields

router = APIRouter(prefix="/tmf-api/productInventory/v4", tags=["TMF637"])
PRODUCT_FILTERS = ("id", "status", "name", "relatedParty.id", "productOffering.id")


@router.get("/product")
def list_products(
        request: Request, fields: Fields = None, offset: Offset = 0, limit: Limit = DEFAULT_LIMIT,
        id: text_query("Only this product.") = None,
        status: text_query("Only products in this status (active, terminated...).") = None,
        name: text_query("Only products of this name.") = None,
        related_party_id: text_query("Only this customer's products.", alias="relatedParty.id") = None,
        product_offering_id: text_query("Only products of this offering.", alias="productOffering.id") = None,
) -> JSONResponse:
    c = request.app.state.container
    q = list_query(request, PRODUCT_FILTERS)
    rows, total = queries.list_assets(c.store, q.filters, q.offset, q.limit)
    shown = [select_fields(product(r), q.fields) for r in rows]
    return JSONResponse(shown, headers=count_headers(total, len(shown)))


@router.get("/product/{product_id}")
def get_product(product_id: id_path("The product's id."), request: Request,
                fields: Fields = None) -> JSONResponse:
    c = request.app.state.container
    return JSONResponse(select_fields(product(queries.get_asset(c.store, product_id)),
                                      fields_only(request)))
