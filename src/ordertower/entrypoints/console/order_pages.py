"""The Order page: the order and its items, the decomposition tree, the plan as a Mermaid
graph coloured by state (with a time slider to see it as it stood at any past moment), the
Gantt of planned versus actual times, the history, the revisions, and the actions (cancel;
retry, skip, complete an item in fallout; amend). Everything updates live.

Actions call the same use cases as the API, as the logged-in key (its name is the actor):
cancel and amend need the role ``agent``, retry/skip/complete need ``operator``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request

from ...domain import input_parsers
from ...domain.errors import DomainError, Issue
from ...domain.schedule import schedule
from ...services import queries
from ..api import operations
from ..api.problems import Problem
from ..api.representations import plan_item, product_order
from ..api.roles import require_role
from .live import position
from .diagrams import STATE_STYLES, flowchart, gantt
from .session import ConsoleSession, checked_post, console_session
from .templating import back, problem_page, render

router = APIRouter(prefix="/console", include_in_schema=False)
# Beyond this many plan items the graph and the Gantt are not drawn (a browser lays out a few
# hundred nodes in a blink, ten thousand not at all): the tables still list every item.
DIAGRAM_LIMIT = 300


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _current(request: Request, order_id: str) -> dict[str, Any]:
    """Everything the page shows now (read in a thread)."""
    c = request.app.state.container
    order, items = queries.order_with_plan(c.store, order_id)
    key_to_id = {i["key"]: i["id"] for i in items}
    now = c.store.clock.now()
    rows = schedule(items, order["created_at"], now)
    return {"order": order, "tmf": product_order(order, items),
            "items": [plan_item(i, key_to_id) for i in items],
            "tree": queries.decomposition_tree(c.store, c.catalog, order_id),
            "gantt": gantt(rows) if rows and len(rows) <= DIAGRAM_LIMIT else None,
            "gantt_too_big": len(rows) > DIAGRAM_LIMIT,
            "critical": [r.item["name"] for r in rows if r.critical],
            "history": operations.order_history(order_id, request)["events"],
            "revisions": operations.order_revisions(order_id, request)["revisions"],
            "now": now}


def _plan(request: Request, order_id: str, at: datetime | None) -> dict[str, Any]:
    """The plan panel: now, or as it stood at ``at``."""
    store = request.app.state.container.store
    if at is None:
        order, items = queries.order_with_plan(store, order_id)
        key_to_id = {i["key"]: i["id"] for i in items}
        shown = [plan_item(i, key_to_id) for i in items]
        state, revision = order["state"], order["revision"]
    else:
        found = operations.plan_as_of(store, order_id, at)
        shown, state, revision = found["items"], found["state"], found["revision"]
    graph = None if not shown or len(shown) > DIAGRAM_LIMIT else flowchart(
        [{"key": i["key"], "name": i["name"], "state": i["state"], "ponr": i["ponr"],
          "system": i["system"], "depends_on": i["depends_on_keys"]} for i in shown])
    return {"order_id": order_id, "at": at, "plan_items": shown, "order_state": state,
            "revision": revision, "graph": graph,
            "too_many": len(shown) > DIAGRAM_LIMIT, "diagram_limit": DIAGRAM_LIMIT}


def _at(value: str | None, request: Request) -> datetime | None:
    if not value:
        return None
    try:
        moment = input_parsers.timestamp(value)
    except ValueError as exc:
        raise Problem(400, "bad-request", "Bad query", f"at: {exc}.", [Issue("at", str(exc))]) from None
    return operations.not_in_future(moment, "at", request.app.state.container.store.clock.now())


@router.get("/orders/{order_id}")
async def order_page(order_id: str, request: Request,
                     session: ConsoleSession = Depends(console_session)):
    after = await position(request)
    try:
        now = await asyncio.to_thread(_current, request, order_id)
        plan = await asyncio.to_thread(_plan, request, order_id, None)
    except DomainError as exc:
        return problem_page(request, session, exc, back_to="/console/orders")
    return render(request, "order.html", session, **now, **plan, states=list(STATE_STYLES), after=after,
                  start_ms=_ms(now["order"]["created_at"]), now_ms=_ms(now["now"]),
                  can_act=_can(session, "operator"), can_change=_can(session, "agent"))


@router.get("/orders/{order_id}/live")
async def order_live(order_id: str, request: Request,
                     session: ConsoleSession = Depends(console_session)):
    """The parts of the page that follow the order (the live refresh)."""
    now = await asyncio.to_thread(_current, request, order_id)
    return render(request, "order_live.html", session, **now, diagram_limit=DIAGRAM_LIMIT,
                  can_act=_can(session, "operator"), can_change=_can(session, "agent"))


@router.get("/orders/{order_id}/plan")
async def order_plan(order_id: str, request: Request, at: str | None = None,
                     session: ConsoleSession = Depends(console_session)):
    """The plan panel, now or ``at`` a past moment (the time slider)."""
    plan = await asyncio.to_thread(_plan, request, order_id, _at(at, request))
    return render(request, "order_plan.html", session, **plan, can_act=_can(session, "operator"))


def _can(session: ConsoleSession, least: str) -> bool:
    from ...domain.roles import at_least

    return at_least(session.role, least)


async def _form_text(request: Request, name: str) -> str | None:
    value = (await request.form()).get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


@router.post("/orders/{order_id}/cancel")
async def cancel(order_id: str, request: Request, session: ConsoleSession = Depends(checked_post)):
    from ...services.cancel_order import cancel as cancel_order

    page = f"/console/orders/{order_id}"
    try:
        require_role(request, "agent", "Cancelling an order")
        reason = await _form_text(request, "reason") or "cancelled by an operator"
        await asyncio.to_thread(cancel_order, request.app.state.container.store, order_id,
                                f"{reason} ({session.actor})")
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=page)
    return back(page)


@router.post("/plan-items/{item_id}/{action}")
async def item_action(item_id: str, action: Literal["retry", "skip", "complete"], request: Request,
                      session: ConsoleSession = Depends(checked_post)):
    """An operator's action on an item in fallout (the same use case as the API's)."""
    from ...services import fallout

    store = request.app.state.container.store
    page = "/console/orders"
    try:
        item, _ = await asyncio.to_thread(queries.item_attempts, store, item_id)
        page = f"/console/orders/{item['order_id']}"
        require_role(request, "operator", f"{action.capitalize()} of a plan item")
        kwargs: dict[str, Any] = {"output": {}} if action == "complete" else {}
        await asyncio.to_thread(fallout.act, store, item_id, action, session.actor,
                                await _form_text(request, "reason"), **kwargs)
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=page)
    return back(page)


@router.get("/orders/{order_id}/amend")
async def amend_form(order_id: str, request: Request,
                     session: ConsoleSession = Depends(console_session)):
    try:
        require_role(request, "agent", "Amending an order")
        order, items = await asyncio.to_thread(queries.order_with_plan,
                                               request.app.state.container.store, order_id)
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=f"/console/orders/{order_id}")
    return render(request, "amend.html", session, order=order,
                  tmf=product_order(order, items), error=None)


@router.post("/orders/{order_id}/amend")
async def amend(order_id: str, request: Request, session: ConsoleSession = Depends(checked_post)):
    """The order's items as a form: each item's action and characteristics; the new list is
    a supplemental order, exactly as ``PATCH productOrder/{id}`` would take it."""
    from ...services.amend_order import AmendOrder, amend as amend_order
    from ..api.tmf622 import item_inputs
    from ..api.tmf622_models import ProductOrderCreate

    c = request.app.state.container
    page = f"/console/orders/{order_id}"
    try:
        require_role(request, "agent", "Amending an order")
        order, _ = await asyncio.to_thread(queries.order_with_plan, c.store, order_id)
        form = await request.form()
        body_items = _items_from_form(order, form)
        parsed = ProductOrderCreate.model_validate({"productOrderItem": body_items})
        cmd = AmendOrder(order_id=order_id, items=item_inputs(parsed.productOrderItem),
                         body={"productOrderItem": body_items}, actor=session.actor)
        await asyncio.to_thread(lambda: amend_order(c.store, c.catalog, cmd,
                                                    catalog_of=c.catalogs.for_release))
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=page + "/amend")
    except ValueError as exc:  # pydantic's ValidationError
        return problem_page(request, session, Problem(
            400, "bad-request", "Invalid order items", str(exc).splitlines()[0]), back_to=page + "/amend")
    return back(page)


ACTIONS = ("add", "modify", "delete", "noChange")


def _items_from_form(order: dict[str, Any], form) -> list[dict[str, Any]]:
    """Fields ``action.<item>`` and ``char.<item>.<name>`` over the order's items."""
    sent = {i.get("id"): i for i in order["body"].get("productOrderItem", []) if isinstance(i, dict)}
    out = []
    for item in order["items"]:
        action = form.get(f"action.{item['id']}") or item["action"]
        if action not in ACTIONS:
            raise Problem(400, "bad-request", "Bad request", f"Unknown action {action!r}.",
                          [Issue(f"productOrderItem[{item['id']}].action", "expected add, modify, delete or noChange")])
        shown = {k: v for k, v in sent.get(item["id"], {}).items() if k not in ("state",)}
        shown.update({"id": item["id"], "action": action})
        if item.get("offering_id"):
            chars = []
            for name, old in item["attributes"].items():
                raw = form.get(f"char.{item['id']}.{name}")
                chars.append({"name": name, "value": _typed(raw, old) if isinstance(raw, str) else old})
            product = dict(shown.get("product") or {})
            product["productCharacteristic"] = chars
            shown["product"] = product
            shown["productOffering"] = {"id": item["offering_id"]}
        out.append(shown)
    return out


def _typed(raw: str, old: Any) -> Any:
    """A form value with the type the attribute had (the catalog checks it again)."""
    raw = raw.strip()
    if isinstance(old, bool):
        return raw.lower() in ("true", "1", "yes", "on")
    if isinstance(old, int):
        try:
            return int(raw)
        except ValueError:
            return raw
    if isinstance(old, float):
        try:
            return float(raw)
        except ValueError:
            return raw
    return raw


