"""API keys (admin): POST/GET /api/v1/keys, DELETE /api/v1/keys/{id}; the audit log (operator):
GET /api/v1/audit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...domain.errors import Issue
from ...services import access, queries
from .common import json_object
from .paging import count_headers, list_query
from .people import known_queues
from .problems import Problem
from .representations import iso
from .roles import actor_of

router = APIRouter(prefix="/api/v1", tags=["access"])
AUDIT_FILTERS = ("actor", "order", "action", "from", "to")


def show(key: dict[str, Any]) -> dict[str, Any]:
    return {**key, "created_at": iso(key["created_at"]), "revoked_at": iso(key["revoked_at"])}


@router.post("/keys", status_code=201)
async def create_key(request: Request) -> JSONResponse:
    body = await json_object(request)
    created = await asyncio.to_thread(access.create_key, request.app.state.container.store,
                                      body, actor_of(request), known_queues(request))
    return JSONResponse(show(created), status_code=201,
                        headers={"Location": f"/api/v1/keys/{created['id']}",
                                 "Cache-Control": "no-store"})


@router.get("/keys")
def list_keys(request: Request) -> list[dict]:
    return [show(k) for k in access.list_keys(request.app.state.container.store)]


@router.delete("/keys/{key_id}")
async def revoke_key(key_id: str, request: Request) -> dict:
    revoked = await asyncio.to_thread(access.revoke_key, request.app.state.container.store,
                                      key_id, actor_of(request))
    return show(revoked)


def _instant(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, "bad-request", "Bad query", f"'{name}' is not a date-time.",
                      [Issue(name, "expected an ISO 8601 date-time, e.g. 2026-11-30T12:00:00Z")]) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def audit_entry(event: dict[str, Any]) -> dict[str, Any]:
    return {"id": event["id"], "at": iso(event["occurred_at"]), "actor": event["actor"],
            "action": event["type"], "order": event["order_id"], "item": event["item_id"],
            "details": event["payload"]}


@router.get("/audit")
def audit(request: Request) -> JSONResponse:
    query = list_query(request, AUDIT_FILTERS)
    filters: dict[str, Any] = dict(query.filters)
    for name in ("from", "to"):
        if name in filters:
            filters[name] = _instant(filters[name], name)
    total, rows = queries.audit_log(request.app.state.container.store, filters,
                                    query.offset, query.limit)
    return JSONResponse([audit_entry(r) for r in rows], headers=count_headers(total, len(rows)))
