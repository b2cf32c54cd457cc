"""The operations API (/api/v1): what the plan did and why."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...services import queries
from .representations import iso, plan_item

router = APIRouter(prefix="/api/v1", tags=["operations"])


@router.get("/orders/{order_id}/decomposition")
def order_decomposition(order_id: str, request: Request) -> dict:
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
def order_plan(order_id: str, request: Request) -> dict:
    order, items = queries.order_with_plan(request.app.state.container.store, order_id)
    key_to_id = {i["key"]: i["id"] for i in items}
    return {"order": order_id, "state": order["state"], "revision": order["revision"],
            "items": [plan_item(i, key_to_id) for i in items]}


@router.get("/orders/{order_id}/history")
def order_history(order_id: str, request: Request) -> dict:
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
def plan_item_attempts(item_id: str, request: Request) -> dict:
    item, attempts = queries.item_attempts(request.app.state.container.store, item_id)
    return {"item": item_id, "name": item["name"], "state": item["state"], "attempts": [
        {"attempt": a["attempt"], "worker": a["worker"], "started_at": iso(a["started_at"]),
         "duration_ms": a["duration_ms"], "request": a["request"], "status_code": a["status_code"],
         "response_excerpt": a["response_excerpt"], "outcome": a["outcome"], "error": a["error"]}
        for a in attempts]}


@router.get("/jeopardy")
def jeopardy(request: Request) -> dict:
    """Orders and items that are YELLOW or RED, worst first."""
    rows = queries.jeopardy(request.app.state.container.store)
    return {"count": len(rows), "orders": rows}


@router.post("/orders/{order_id}/cancel")
async def cancel(order_id: str, request: Request) -> dict:
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
def order_revisions(order_id: str, request: Request) -> dict:
    """Every revision of the order: its number, what happened to it, its delta, and what the
    plan did about it."""
    rows = queries.revisions(request.app.state.container.store, order_id)
    return {"order": order_id, "revisions": [
        {"number": r["number"], "status": r["status"], "reason": r["reason"], "actor": r["actor"],
         "received_at": iso(r["created_at"]), "decided_at": iso(r["decided_at"]),
         "delta": r["delta"], "plan": r["plan_actions"]} for r in rows]}
