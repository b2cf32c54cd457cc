"""The Orders page: search and filters, updating live from the event stream."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from ...domain.errors import Issue
from ...domain.lifecycle import OrderState
from ...services import queries
from ..api.problems import Problem
from .live import position
from .session import ConsoleSession, console_session
from .templating import render

router = APIRouter(prefix="/console", include_in_schema=False)
LIMIT = 100
FILTERS = ("state", "jeopardy", "customer", "externalId", "from", "to")
JEOPARDY = ("any", "YELLOW", "RED")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(400, "bad-request", "Bad filter", f"{name} is a date (YYYY-MM-DD).",
                      [Issue(name, "expected a date, YYYY-MM-DD")]) from None


def _filters(request: Request) -> dict[str, str]:
    given = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    return {k: v for k, v in given.items() if v}


def _search(request: Request, given: dict[str, str]) -> dict:
    state = given.get("state")
    if state and state not in {s.value for s in OrderState}:
        raise Problem(400, "bad-request", "Bad filter", f"Unknown order state {state!r}.",
                      [Issue("state", "not an order state")])
    jeopardy = given.get("jeopardy")
    if jeopardy and jeopardy not in JEOPARDY:
        raise Problem(400, "bad-request", "Bad filter", "jeopardy is any, YELLOW or RED.",
                      [Issue("jeopardy", "expected any, YELLOW or RED")])
    start, end = _day(given.get("from"), "from"), _day(given.get("to"), "to")
    return {"state": state, "jeopardy": jeopardy, "customer": given.get("customer"),
            "external_id": given.get("externalId"),
            "created_from": datetime.combine(start, time(), timezone.utc) if start else None,
            "created_to": datetime.combine(end + timedelta(days=1), time(), timezone.utc) if end else None}


async def _rows(request: Request, given: dict[str, str]) -> list[dict]:
    return await asyncio.to_thread(queries.search_orders, request.app.state.container.store,
                                   LIMIT, **_search(request, given))


@router.get("/orders")
async def orders_page(request: Request, session: ConsoleSession = Depends(console_session)):
    given = _filters(request)
    after = await position(request)
    try:
        rows = await _rows(request, given)
        error = None
    except Problem as exc:
        rows, error = [], exc
    return render(request, "orders.html", session, status=400 if error else 200, rows=rows,
                  given=given, query=urlencode(given), limit=LIMIT, error=error, after=after,
                  states=[s.value for s in OrderState], jeopardy_levels=JEOPARDY)


@router.get("/orders/rows")
async def order_rows(request: Request, session: ConsoleSession = Depends(console_session)):
    """The list's rows (the live refresh)."""
    given = _filters(request)
    return render(request, "orders_rows.html", session, rows=await _rows(request, given), limit=LIMIT)
