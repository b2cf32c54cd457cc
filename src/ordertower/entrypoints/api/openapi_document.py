"""The OpenAPI document (``/openapi.json``) declares everything a client or a fuzzer needs:
every request body (``json_body``, beside each route that reads raw JSON for its size and
depth guards), every parameter with its type and bounds (params.py), and every error response
with its schema and content type: TMF630 ``Error`` (``application/json;charset=utf-8``, only
the statuses the official document declares for the operation) under ``/tmf-api/``, RFC 9457
problem JSON (``application/problem+json``) elsewhere. FastAPI's own 422 validation response
is replaced: ordertower answers bad parameters with 400. Links tie ``POST productOrder`` to
reading, amending and cancelling the order it created (stateful clients and fuzzers)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from .route_roles import OPEN, least_role
from .tmf_errors import TMF_MEDIA_TYPE, declared_statuses, is_tmf

REF = "#/components/schemas/{model}"
_BODY_MODELS: dict[str, type[BaseModel]] = {}
JSON_TYPES = ("application/json",)

TMF_ERROR_SCHEMA = {
    "type": "object", "required": ["code", "reason"],
    "description": "TMF630 Error, with ordertower's `errors` naming each bad field.",
    "properties": {
        "@type": {"type": "string", "enum": ["Error"]},
        "code": {"type": "string", "description": "ordertower's error kind, e.g. invalid-order"},
        "reason": {"type": "string"}, "message": {"type": "string"},
        "status": {"type": "string", "description": "the HTTP status, as text"},
        "referenceError": {"type": "string", "format": "uri"},
        "errors": {"$ref": "#/components/schemas/FieldErrors"},
    }}
PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "RFC 9457 problem details, with `errors` naming each bad field.",
    "properties": {
        "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {"$ref": "#/components/schemas/FieldErrors"},
    }}
FIELD_ERRORS_SCHEMA = {
    "type": "array", "items": {
        "type": "object", "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
DESCRIPTIONS = {400: "Bad request: the `errors` name each bad field", 401: "No or unknown key",
                403: "The key's role may not do this", 404: "Not found", 405: "Method not allowed",
                409: "Conflict with the current state (life cycle, idempotency key in use)",
                410: "Gone", 413: "Body too large", 415: "Body not JSON",
                422: "Refused by the catalog or a business rule", 500: "Internal error",
                503: "Not ready"}


def json_body(model: type[BaseModel] | None = None, *, schema: dict[str, Any] | None = None,
              media_types: tuple[str, ...] = JSON_TYPES, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` declaring the JSON body a route reads itself (keeping its guards)."""
    if model is not None:
        _BODY_MODELS[model.__name__] = model
        schema = {"$ref": REF.format(model=model.__name__)}
    return {"requestBody": {"required": required,
                            "content": {t: {"schema": schema or {"type": "object"}} for t in media_types}}}


def _ops_statuses(method: str, path: str) -> list[int]:
    statuses = [400, 401, 403, 500]
    if "{" in path:
        statuses.append(404)
    if method in ("post", "put", "patch", "delete"):
        statuses += [409, 413, 415, 422]
        if "{" not in path:
            statuses.append(404)  # a body naming an unknown item or order
    return sorted(set(statuses))


def _errors(method: str, path: str) -> dict[str, Any]:
    if is_tmf(path):
        statuses, media, ref = sorted(declared_statuses(method, path)), TMF_MEDIA_TYPE, "TmfError"
    else:
        statuses, media, ref = _ops_statuses(method, path), "application/problem+json", "Problem"
    return {str(s): {"description": DESCRIPTIONS.get(s, "Error"),
                     "content": {media: {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
            for s in statuses}


ORDER_LINKS = {
    "GetProductOrder": {"operationId": "get_product_order",
                        "parameters": {"order_id": "$response.body#/id"}},
    "AmendProductOrder": {"operationId": "amend_product_order",
                          "parameters": {"order_id": "$response.body#/id"}},
    "CancelProductOrder": {"operationId": "cancel_product_order",
                           "requestBody": {"productOrder": {"id": "$response.body#/id"},
                                           "cancellationReason": "changed my mind"}},
    "OrderPlan": {"operationId": "order_plan", "parameters": {"order_id": "$response.body#/id"}},
}


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(TmfError=TMF_ERROR_SCHEMA, Problem=PROBLEM_SCHEMA, FieldErrors=FIELD_ERRORS_SCHEMA)
    for name, model in _BODY_MODELS.items():
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    doc["components"]["securitySchemes"] = {"bearerKey": {
        "type": "http", "scheme": "bearer", "description": "An API key (`ordertower keys create`)."}}
    doc["security"] = [{"bearerKey": []}]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            op["responses"].pop("422", None)
            for status, response in _errors(method, path).items():
                op["responses"].setdefault(status, response)
            if least_role(method.upper(), path) == OPEN:
                op["security"] = []
                for status in ("401", "403"):
                    op["responses"].pop(status, None)
    for path in ("/health", "/health/ready"):
        doc["paths"][path]["get"]["responses"]["503"] = {
            "description": DESCRIPTIONS[503],
            "content": {"application/json": {"schema": {"type": "object"}}}}
    created = doc["paths"]["/tmf-api/productOrderingManagement/v4/productOrder"]["post"]
    created["responses"]["201"]["links"] = ORDER_LINKS
    return doc


def operation_id(route: APIRoute) -> str:
    """The route function's name (the hubs of TMF622 and TMF637 share theirs: tagged)."""
    if "/hub" in route.path and route.tags:
        return f"{route.name}_{str(route.tags[0]).lower()}"
    return route.name


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
