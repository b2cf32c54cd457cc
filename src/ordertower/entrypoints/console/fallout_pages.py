"""The Fallout page: the items in fallout with their error, request and response; filters
(system, error, order, age); the queue grouped by error (a count per group); bulk retry and
bulk skip of the selected items; and edit-and-retry of an item's callout request. Updates
live from the event stream.

Actions are the fallout use cases the API calls (``services/fallout.py``), as the logged-in
key; each needs the role ``operator``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from ...domain.errors import DomainError, Issue
from ...domain.roles import at_least
from ...services import console_queries, fallout, queries
from ..api.params import duration_field
from ..api.problems import Problem
from .live import position
from .session import ConsoleSession, checked_post, console_session
from .templating import back, problem_page, render

router = APIRouter(prefix="/console", include_in_schema=False)
FILTERS = ("system", "error", "order", "older_than")


def _filters(request: Request) -> dict[str, str]:
    given = {k: (request.query_params.get(k) or "").strip() for k in FILTERS}
    return {k: v for k, v in given.items() if v}


def _queue(request: Request, given: dict[str, str]) -> dict[str, Any]:
    """The items and groups the filters find (read in a thread)."""
    store = request.app.state.container.store
    args = (given.get("system"), given.get("error"), duration_field(given.get("older_than"), "older_than"))
    items = fallout.list_fallout(store, *args, given.get("order"))
    groups = console_queries.fallout_groups(store, *args, given.get("order"))
    return {"items": items, "groups": groups}


def _systems(request: Request) -> list[str]:
    # the catalog in use, not polled: this runs on the event loop
    return [s.id for s in request.app.state.container.catalogs.in_use.catalog.systems]


@router.get("/fallout")
async def fallout_page(request: Request, session: ConsoleSession = Depends(console_session)):
    given = _filters(request)
    after = await position(request)  # before the data: no event between them is missed
    try:
        found, error = await asyncio.to_thread(_queue, request, given), None
    except Problem as exc:
        found, error = {"items": [], "groups": []}, exc
    done = request.query_params.get("done")
    return render(request, "fallout.html", session, status=400 if error else 200, **found,
                  after=after, given=given, query=urlencode(given), error=error, systems=_systems(request),
                  can_act=at_least(session.role, "operator"),
                  done=done, done_action=request.query_params.get("action"),
                  refused=request.query_params.get("refused"))


@router.get("/fallout/live")
async def fallout_live(request: Request, session: ConsoleSession = Depends(console_session)):
    """The groups and the items (the live refresh)."""
    given = _filters(request)
    found = await asyncio.to_thread(_queue, request, given)
    return render(request, "fallout_live.html", session, **found, given=given,
                  can_act=at_least(session.role, "operator"))


def _back_to(form) -> str:
    given = {k: str(form.get(k)).strip() for k in FILTERS if form.get(k) and str(form.get(k)).strip()}
    return "/console/fallout" + (f"?{urlencode(given)}" if given else "")


@router.post("/fallout/actions")
async def bulk_action(request: Request, session: ConsoleSession = Depends(checked_post)):
    """Retry or skip every selected item (form fields ``action``, ``items``, ``reason``)."""
    form = await request.form()
    page = _back_to(form)
    try:
        require = "Retrying or skipping fallout"
        from ..api.roles import require_role

        require_role(request, "operator", require)
        action = form.get("action")
        if action not in ("retry", "skip"):
            raise Problem(400, "bad-request", "Bad request", "Bulk actions are retry and skip.",
                          [Issue("action", "expected retry or skip")])
        selected = [str(v) for v in form.getlist("items")]
        reason = (str(form.get("reason") or "").strip()) or None
        results = await asyncio.to_thread(fallout.act_on_selected, request.app.state.container.store,
                                          selected, action, session.actor, reason)
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=page)
    refused = [r for r in results if "error" in r]
    outcome = {"done": str(len(results) - len(refused)), "action": action}
    if refused:
        outcome["refused"] = "; ".join(f"{r['item']}: {r['error']}" for r in refused)[:500]
    return back(page + ("&" if "?" in page else "?") + urlencode(outcome))


def _item(request: Request, item_id: str) -> dict[str, Any]:
    item, attempts = queries.item_attempts(request.app.state.container.store, item_id)
    last = attempts[-1] if attempts else {}
    request_sent = last.get("request") or {}
    override = item["spec"].request_override
    declared = item["spec"].request
    body = override.body if override is not None else request_sent.get("body",
                                                                       declared.body if declared else None)
    return {"item": item, "attempts": attempts, "last": last,
            "method": request_sent.get("method") or (declared.method if declared else ""),
            "path": request_sent.get("url") or request_sent.get("path") or (declared.path if declared else ""),
            "body_text": json.dumps(body, indent=2, ensure_ascii=False) if body is not None else ""}


@router.get("/fallout/{item_id}/edit")
async def edit_form(item_id: str, request: Request, session: ConsoleSession = Depends(console_session)):
    """The item's last request, its body editable, to retry with."""
    try:
        found = await asyncio.to_thread(_item, request, item_id)
    except DomainError as exc:
        return problem_page(request, session, exc, back_to="/console/fallout")
    return render(request, "fallout_edit.html", session, **found, error=None,
                  can_act=at_least(session.role, "operator"))


@router.post("/fallout/{item_id}/retry")
async def retry_edited(item_id: str, request: Request, session: ConsoleSession = Depends(checked_post)):
    """Retry with the edited request body (form field ``body``: JSON; empty: as declared)."""
    from ..api.roles import require_role

    form = await request.form()
    page = f"/console/fallout/{item_id}/edit"
    try:
        require_role(request, "operator", "Retrying fallout")
        text = str(form.get("body") or "").strip()
        kwargs: dict[str, Any] = {}
        if text:
            try:
                kwargs["request_body"] = json.loads(text)
            except ValueError as exc:
                raise Problem(400, "bad-request", "Bad request", "The edited request body is not JSON.",
                              [Issue("request.body", f"not JSON: {exc}")]) from None
        reason = (str(form.get("reason") or "").strip()) or None
        done = await asyncio.to_thread(fallout.act, request.app.state.container.store, item_id,
                                       "retry", session.actor, reason, **kwargs)
    except (DomainError, Problem) as exc:
        if isinstance(exc, Problem) and exc.status == 400:
            found = await asyncio.to_thread(_item, request, item_id)
            found["body_text"] = str(form.get("body") or "")
            return render(request, "fallout_edit.html", session, status=400, **found, error=exc,
                          can_act=True)
        return problem_page(request, session, exc, back_to=page)
    return back(f"/console/orders/{done['order']}")
