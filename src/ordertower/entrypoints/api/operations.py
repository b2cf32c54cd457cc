"""The operations API (/api/v1): what the plan did and why."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request

from ...domain.errors import Issue
from ...domain.roles import at_least
from ...logs import redact_value
from ...services import queries
from .openapi_document import json_body
from .params import id_path, timestamp_query
from .problems import Problem
from .representations import iso, plan_item
from .roles import role_of

OrderId = id_path("The order's id.")
CANCEL_BODY = {"type": "object", "properties": {
    "reason": {"type": "string", "description": "why (recorded with the actor)"}}}

router = APIRouter(prefix="/api/v1", tags=["operations"])


@router.get("/orders/{order_id}/decomposition")
def order_decomposition(order_id: OrderId, request: Request) -> dict:
    order, lines = queries.decomposition(request.app.state.container.store, order_id)
    return {"order": order_id, "state": order["state"], "revision": order["revision"],
            "catalog_version": order["catalog_version"],
            "lines": [{"id": ln["line_id"], "technical_product": ln["technical_product"],
                       "action": ln["action"], "attributes": ln["attributes"],
                       "lineage": ln["lineage"], "rules": ln["rule_ids"], "scope": ln["scope"],
                       "parent_line": ln["parent_line_id"], "root_items": ln["root_item_ids"],
                       "inventory_key": ln.get("inventory_key"), "previous": ln.get("previous"),
                       "reason": ln.get("reason")}
                      for ln in lines]}


@router.get("/orders/{order_id}/plan")
def order_plan(order_id: OrderId, request: Request,
               at: timestamp_query("The plan as it stood at this moment (not in the future).") = None) -> dict:
    """The plan now; with ``at``, the plan as it stood at that moment, rebuilt from the event
    log (see domain/plan_at.py): every item with the state it had then. Before the order
    existed the plan is empty (``items: []``, ``state: null``)."""
    store = request.app.state.container.store
    if at is not None:
        return plan_as_of(store, order_id, not_in_future(at, "at", store.clock.now()))
    order, items = queries.order_with_plan(store, order_id)
    key_to_id = {i["key"]: i["id"] for i in items}
    return {"order": order_id, "state": order["state"], "revision": order["revision"],
            "items": [plan_item(i, key_to_id) for i in items]}


def plan_as_of(store, order_id: str, at: datetime) -> dict:
    _, found = queries.plan_at(store, order_id, at)
    if found is None:
        return {"order": order_id, "at": iso_exact(at), "state": None, "revision": None, "items": []}
    key_to_id = {i.item["key"]: i.item["id"] for i in found.items}
    return {"order": order_id, "at": iso_exact(at), "state": found.order_state,
            "revision": found.revision, "items": [
                {"id": i.item["id"], "key": i.item["key"], "name": i.item["name"],
                 "type": i.item["type"], "system": i.item["system"], "line_id": i.item["line_id"],
                 "depends_on": [key_to_id.get(k, k) for k in i.item["depends_on"]],
                 "depends_on_keys": list(i.item["depends_on"]), "ponr": i.item["ponr"],
                 "revision": i.item["revision"], "created_at": iso_exact(i.item["created_at"]),
                 "state": i.state, "since": iso_exact(i.since)}
                for i in found.items]}


def not_in_future(moment: datetime, name: str, now: datetime) -> datetime:
    """A moment already parsed (RFC 3339, in UTC), refused when it is after ``now``."""
    if moment > now:
        raise Problem(400, "bad-request", "Bad query", f"{name} is in the future; the plan is "
                      "known up to now.", [Issue(name, "in the future")])
    return moment


def iso_exact(value: datetime | None) -> str | None:
    """To the microsecond (a moment another ``at`` may be given)."""
    return None if value is None else value.isoformat(timespec="microseconds").replace("+00:00", "Z")


@router.get("/orders/{order_id}/history")
def order_history(order_id: OrderId, request: Request) -> dict:
    """One timeline: every event of the order (order and item transitions with their cause,
    callbacks, operator actions, tasks, revisions, assets) and every attempt of its items,
    each naming its ``actor``."""
    from ...domain.history import actor_of, attempt_end, attempt_entry, merge

    found = queries.history(request.app.state.container.store, order_id)
    items = {i["id"]: i for i in found["items"]}
    revision_actors = {r["number"]: r["actor"] for r in found["revisions"]}
    events = []
    for e in found["events"]:
        system = items.get(e["item_id"], {}).get("system")
        entry = {"id": e["event_id"], "sequence": e["id"], "type": e["type"],
                 "at": iso(e["occurred_at"]), "item": e["item_id"], **e["payload"]}
        entry["actor"] = actor_of(e["type"], e["payload"], system, revision_actors.get)
        events.append((e["occurred_at"], entry))
    attempts = []
    for a in found["attempts"]:
        end = attempt_end(a)
        entry = attempt_entry(a, items.get(a["item_id"], {}).get("key"))
        attempts.append((end, {**entry, "at": iso(end), "started_at": iso(a["started_at"])}))
    return {"order": order_id, "events": merge(events, attempts)}


@router.get("/plan-items/{item_id}/attempts")
def plan_item_attempts(item_id: id_path("The plan item's id."), request: Request) -> dict:
    item, attempts = queries.item_attempts(request.app.state.container.store, item_id)
    # a request carries its callback URL, whose token is a live credential while the item
    # waits: shown to operators, redacted for viewers and agents
    shown = (lambda r: r) if at_least(role_of(request), "operator") else redact_value
    return {"item": item_id, "name": item["name"], "state": item["state"], "attempts": [
        {"attempt": a["attempt"], "worker": a["worker"], "started_at": iso(a["started_at"]),
         "duration_ms": a["duration_ms"], "request": shown(a["request"]), "status_code": a["status_code"],
         "response_excerpt": a["response_excerpt"], "outcome": a["outcome"], "error": a["error"]}
        for a in attempts]}


@router.post("/orders/{order_id}/cancel", openapi_extra=json_body(schema=CANCEL_BODY, required=False))
async def cancel(order_id: OrderId, request: Request) -> dict:
    """Cancel an order before its point of no return (operators; TMF622 clients use
    cancelProductOrder)."""
    import asyncio

    from ...services.cancel_order import cancel as cancel_order
    from .common import actor, json_object, text_field

    body = await json_object(request, optional=True)
    reason = text_field(body, "reason") or "cancelled by an operator"
    state = await asyncio.to_thread(cancel_order, request.app.state.container.store, order_id,
                                    f"{reason} ({actor(request, body)})")
    return {"order": order_id, "state": state}


@router.get("/orders/{order_id}/revisions")
def order_revisions(order_id: OrderId, request: Request) -> dict:
    """Every revision of the order: its number, what happened to it, its delta, and what the
    plan did about it."""
    rows = queries.revisions(request.app.state.container.store, order_id)
    return {"order": order_id, "revisions": [
        {"number": r["number"], "status": r["status"], "reason": r["reason"], "actor": r["actor"],
         "received_at": iso(r["created_at"]), "decided_at": iso(r["decided_at"]),
         "delta": r["delta"], "plan": r["plan_actions"]} for r in rows]}
