"""The fallout queue: GET /api/v1/fallout, POST /api/v1/plan-items/{id}/retry|complete|skip|
cancel-order, POST /api/v1/fallout/actions (bulk over a filter)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request

from ...domain.errors import Issue
from ...services import fallout as use_cases
from .common import actor, duration_param, json_object, text_field
from .problems import Problem
from .representations import iso

router = APIRouter(prefix="/api/v1", tags=["fallout"])


def show(item: dict[str, Any]) -> dict[str, Any]:
    last = item.get("last_attempt") or {}
    return {"id": item["id"], "order": item["order_id"], "key": item["key"], "name": item["name"],
            "type": item["type"], "system": item["system"], "error": item["last_error"],
            "attempts": item["attempts"], "since": iso(item["finished_at"]), "age_s": item.get("age_s"),
            "request": last.get("request"), "response_status": last.get("status_code"),
            "response_excerpt": last.get("response_excerpt")}


@router.get("/fallout")
def fallout(request: Request, system: str | None = None, error: str | None = None,
            older_than: str | None = None, order: str | None = None) -> dict:
    items = use_cases.list_fallout(request.app.state.container.store, system, error,
                                   duration_param(older_than, "older_than"), order)
    return {"count": len(items), "items": [show(i) for i in items],
            "groups": use_cases.group_by_error(items)}


async def _act(item_id: str, action: str, request: Request) -> dict:
    body = await json_object(request, optional=True)
    reason = text_field(body, "reason")
    kwargs: dict[str, Any] = {}
    if action == "retry" and "request" in body:
        if not isinstance(body["request"], dict) or "body" not in body["request"]:
            raise Problem(400, "bad-request", "Bad request", "An edited request is {\"body\": ...}.",
                          [Issue("request.body", "the edited request body")])
        kwargs["request_body"] = body["request"]["body"]
    if action == "complete":
        kwargs["output"] = body.get("output") or {}
    return await asyncio.to_thread(use_cases.act, request.app.state.container.store, item_id, action,
                                   actor(request, body), reason,
                                   dedupe=request.headers.get("idempotency-key"), **kwargs)


ACTION_PATHS = {"retry": "retry", "complete": "complete", "skip": "skip", "cancel-order": "cancel"}


@router.post("/plan-items/{item_id}/{action}")
async def act(item_id: str, action: Literal["retry", "complete", "skip", "cancel-order"],
              request: Request) -> dict:
    """An operator's action on an item in fallout: retry (optionally with an edited request
    body), complete (with output), skip, or cancel-order."""
    return await _act(item_id, ACTION_PATHS[action], request)


@router.post("/fallout/actions")
async def bulk(request: Request) -> dict:
    body = await json_object(request)
    action = text_field(body, "action", required=True)
    if action not in ("retry", "skip"):
        raise Problem(400, "bad-request", "Bad request", "Bulk actions are retry and skip.",
                      [Issue("action", "expected retry or skip")])
    flt = body.get("filter") or {}
    if not isinstance(flt, dict):
        raise Problem(400, "bad-request", "Bad request", "filter is an object.",
                      [Issue("filter", "expected an object")])
    unknown = set(flt) - {"system", "error", "older_than"}
    if unknown:
        raise Problem(400, "bad-request", "Bad request", "Unknown filter.",
                      [Issue(f"filter.{k}", "unknown filter (system, error, older_than)") for k in sorted(unknown)])
    results = await asyncio.to_thread(
        use_cases.act_in_bulk, request.app.state.container.store, action, actor(request, body),
        text_field(body, "reason"), flt.get("system"), flt.get("error"),
        duration_param(flt.get("older_than"), "filter.older_than"),
        request.headers.get("idempotency-key"))
    return {"action": action, "count": len(results), "results": results}
