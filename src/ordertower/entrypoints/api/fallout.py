"""The fallout queue: GET /api/v1/fallout, POST /api/v1/plan-items/{id}/retry|complete|skip|
cancel-order|assign, POST /api/v1/fallout/actions (retry, skip, complete, assign: in bulk over a
filter, or over selected items), GET/POST /api/v1/fallout/rules, DELETE
/api/v1/fallout/rules/{id} (assignment by rule)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ...domain.errors import Issue
from ...services import fallout as use_cases
from .common import actor, json_object, text_field
from .params import duration_field, duration_query, id_path, text_query
from .problems import Problem
from .representations import iso
from .openapi_document import json_body
from .people import known_queues

ACTION_BODY = {"type": "object", "description": "`actor` names who acts (without access control).",
               "properties": {
    "reason": {"type": "string"},
    "request": {"type": "object", "required": ["body"], "description": "retry: the edited request",
                "properties": {"body": {}}},
    "output": {"description": "complete: the item's output (an object)"}}}
TARGET = {"type": "object", "description": "exactly one of user and queue", "properties": {
    "user": {"type": "string", "minLength": 1}, "queue": {"type": "string", "minLength": 1}}}
BULK_BODY = {"type": "object", "required": ["action"], "properties": {
    "action": {"type": "string", "enum": list(use_cases.BULK_ACTIONS)}, "reason": {"type": "string"},
    "items": {"type": "array", "items": {"type": "string"}, "description": "instead of a filter"},
    "to": TARGET | {"description": "assign: to whom"},
    "output": {"type": "object", "description": "complete: every item's output"},
    "filter": {"type": "object", "additionalProperties": False, "properties": {
        "system": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]},
        "older_than": {"type": ["string", "null"], "maxLength": 64,
                       "pattern": "^([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+$"}}}}}

router = APIRouter(prefix="/api/v1", tags=["fallout"])


def show(item: dict[str, Any]) -> dict[str, Any]:
    last = item.get("last_attempt") or {}
    return {"id": item["id"], "order": item["order_id"], "key": item["key"], "name": item["name"],
            "type": item["type"], "system": item["system"], "error": item["last_error"],
            "attempts": item["attempts"], "since": iso(item["finished_at"]), "age_s": item.get("age_s"),
            "request": last.get("request"), "response_status": last.get("status_code"),
            "response_excerpt": last.get("response_excerpt"), "assigned": _assignment(item.get("assignment"))}


def _assignment(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"user": row["user_name"], "queue": row["queue"], "rule": row["rule_id"], "by": row["assigned_by"],
            "at": iso(row["assigned_at"])}


@router.get("/fallout")
def fallout(request: Request, system: text_query("Only items of this fulfillment system.") = None,
            error: text_query("Only items whose error contains this text.") = None,
            older_than: duration_query("Only items in fallout for longer than this") = None,
            order: text_query("Only items of this order.") = None) -> dict:
    items = use_cases.list_fallout(request.app.state.container.store, system, error,
                                   older_than.total_seconds() if older_than is not None else None, order)
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
ItemId = id_path("The plan item's id.")


def _action_route(path: str, action: str):
    async def act(item_id: ItemId, request: Request) -> dict:
        return await _act(item_id, action, request)

    act.__name__ = f"{action}_plan_item"
    act.__doc__ = (f"An operator's action on an item in fallout: {path} (retry optionally with an "
                   "edited request body, complete with output).")
    router.add_api_route(f"/plan-items/{{item_id}}/{path}", act, methods=["POST"],
                         openapi_extra=json_body(schema=ACTION_BODY, required=False))


# one route per action: a POST to another word (/attempts) is a 405, not a bad parameter
for _path, _action in ACTION_PATHS.items():
    _action_route(_path, _action)


def _bulk_extras(body: dict[str, Any], action: str, request: Request) -> dict[str, Any]:
    if action not in use_cases.BULK_ACTIONS:
        raise Problem(400, "bad-request", "Bad request",
                      f"Bulk actions are {', '.join(use_cases.BULK_ACTIONS)}.",
                      [Issue("action", f"expected one of {', '.join(use_cases.BULK_ACTIONS)}")])
    extras: dict[str, Any] = {"known_queues": known_queues(request)}
    if action == "assign":
        extras["to"] = use_cases.Target.parse(body.get("to"))
    if action == "complete":
        extras["output"] = body.get("output") or {}
    return extras


@router.post("/fallout/actions", openapi_extra=json_body(schema=BULK_BODY))
async def bulk(request: Request) -> dict:
    body = await json_object(request)
    action = text_field(body, "action", required=True)
    extras = _bulk_extras(body, action, request)
    if "items" in body:  # the items an operator selected, instead of a filter
        selected = body["items"]
        if "filter" in body or not isinstance(selected, list) or not all(isinstance(i, str) for i in selected):
            raise Problem(400, "bad-request", "Bad request", "Name the items (a list of ids) or a filter, not both.",
                          [Issue("items", "expected a list of plan item ids, without a filter")])
        results = await asyncio.to_thread(
            use_cases.act_on_selected, request.app.state.container.store, selected, action,
            actor(request, body), text_field(body, "reason"), request.headers.get("idempotency-key"), **extras)
        return {"action": action, "count": len(results), "results": results}
    if "filter" not in body:
        raise Problem(400, "bad-request", "Bad request", "Name the items or a filter.",
                      [Issue("filter", "name the items (a list of ids) or a filter")])
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
        duration_field(flt.get("older_than"), "filter.older_than"),
        request.headers.get("idempotency-key"), **extras)
    return {"action": action, "count": len(results), "results": results}


@router.post("/plan-items/{item_id}/assign", openapi_extra=json_body(schema={
    "type": "object", "required": ["to"], "properties": {"to": TARGET, "reason": {"type": "string"}}}))
async def assign(item_id: ItemId, request: Request) -> dict:
    """Assign an item in fallout to a user or a queue (replaces an earlier assignment)."""
    body = await json_object(request)
    to = use_cases.Target.parse(body.get("to"))
    return await asyncio.to_thread(use_cases.assign, request.app.state.container.store, item_id, to,
                                   actor(request, body), known_queues(request), text_field(body, "reason"))


RULE_BODY = {"type": "object", "description": "filters (at least one) and exactly one target",
             "properties": {k: {"type": "string", "minLength": 1}
                            for k in ("system", "error", "product", "user", "queue")}}


def show_rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule["id"], "position": rule["position"], "system": rule["system"], "error": rule["error"],
            "product": rule["product"], "user": rule["user_name"], "queue": rule["queue"],
            "created_by": rule["created_by"], "created_at": iso(rule["created_at"])}


@router.get("/fallout/rules")
def list_rules(request: Request) -> list[dict]:
    """The fallout assignment rules, in the order they are tried."""
    return [show_rule(r) for r in use_cases.list_rules(request.app.state.container.store)]


@router.post("/fallout/rules", status_code=201, openapi_extra=json_body(schema=RULE_BODY))
async def add_rule(request: Request) -> dict:
    """A rule assigning items that fall out (system, error pattern, technical product) to a user or a queue."""
    body = await json_object(request)
    rule = await asyncio.to_thread(use_cases.add_rule, request.app.state.container.store, body,
                                   actor(request, None), known_queues(request))
    return show_rule(rule)


RuleId = id_path("The fallout rule's id.")


@router.delete("/fallout/rules/{rule_id}")
async def delete_rule(rule_id: RuleId, request: Request) -> dict:
    return show_rule(await asyncio.to_thread(use_cases.delete_rule, request.app.state.container.store,
                                             rule_id, actor(request, None)))
