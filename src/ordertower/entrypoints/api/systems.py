"""Fulfillment systems: GET /api/v1/systems, PUT /api/v1/systems/{name} {"offline": bool}."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from ...domain.errors import Issue
from ...services import systems as use_cases
from .common import actor, json_object, text_field
from .problems import Problem
from .openapi_document import json_body
from .params import id_path

SYSTEM_BODY = {"type": "object", "required": ["offline"],
               "description": "`actor` names who acts (without access control); nothing else is allowed.",
               "properties": {"offline": {"type": "boolean"}, "reason": {"type": "string"}}}

router = APIRouter(prefix="/api/v1", tags=["systems"])


@router.get("/systems")
def list_systems(request: Request) -> list[dict]:
    c = request.app.state.container
    return use_cases.list_systems(c.store, c.catalog.catalog)


@router.put("/systems/{name}", openapi_extra=json_body(schema=SYSTEM_BODY))
async def put_system(name: id_path("The fulfillment system's name."), request: Request) -> dict:
    c = request.app.state.container
    body = await json_object(request)
    unknown = set(body) - {"offline", "reason", "actor"}
    if unknown or not isinstance(body.get("offline"), bool):
        issues = [Issue(k, "unknown field (offline, reason)") for k in sorted(unknown)]
        if not isinstance(body.get("offline"), bool):
            issues.append(Issue("offline", "expected true or false"))
        raise Problem(400, "bad-request", "Bad request", "Send {\"offline\": true|false}.", issues)
    who, reason = actor(request, body), text_field(body, "reason")
    return await asyncio.to_thread(lambda: use_cases.set_offline(c.store, c.catalog.catalog, name,
                                                                 body["offline"], who, reason))
