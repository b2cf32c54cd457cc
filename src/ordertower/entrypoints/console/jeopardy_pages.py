"""The Jeopardy page: the jeopardy queue (open orders that are YELLOW or RED, RED first, then
the earliest due), filtered by level and paged, each order with its due date (requested, else
expected), its projection and its late items. Updates live when a jeopardy level changes.
Reads the use case the API reads (``services/service_levels.py``)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from ...domain.errors import Issue
from ...services import service_levels as use_cases
from ..api.problems import Problem
from .live import position
from .session import ConsoleSession, console_session
from .templating import problem_page, render

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50
LEVELS = ("YELLOW", "RED")


def _query(request: Request) -> tuple[str | None, int]:
    level = request.query_params.get("level") or None
    if level is not None and level not in LEVELS:
        raise Problem(400, "bad-request", "Bad filter", "level is YELLOW or RED.",
                      [Issue("level", "expected YELLOW or RED")])
    raw = request.query_params.get("offset") or "0"
    if not raw.isdigit() or len(raw) > 9:
        raise Problem(400, "bad-request", "Bad page", "offset is a whole number.",
                      [Issue("offset", "expected a whole number")])
    return level, int(raw)


def _context(request: Request, level: str | None, offset: int) -> dict:
    rows, total = use_cases.jeopardy_queue(request.app.state.container.store, level, offset, PAGE)
    more = offset + len(rows) < total
    nxt = urlencode({k: v for k, v in (("level", level), ("offset", offset + PAGE)) if v}) if more else None
    return {"orders": rows, "total": total, "offset": offset, "level": level, "next_query": nxt,
            "query": urlencode({k: v for k, v in (("level", level), ("offset", offset)) if v})}


@router.get("/jeopardy")
async def jeopardy_page(request: Request, session: ConsoleSession = Depends(console_session)):
    try:
        level, offset = _query(request)
    except Problem as exc:
        return problem_page(request, session, exc, back_to="/console/jeopardy")
    after = await position(request)  # before the data: no event between them is missed
    context = await asyncio.to_thread(_context, request, level, offset)
    return render(request, "jeopardy.html", session, after=after, levels=LEVELS, **context)


@router.get("/jeopardy/rows")
async def jeopardy_rows(request: Request, session: ConsoleSession = Depends(console_session)):
    """The table's rows (the live refresh)."""
    try:
        level, offset = _query(request)
    except Problem as exc:
        return problem_page(request, session, exc, back_to="/console/jeopardy")
    context = await asyncio.to_thread(_context, request, level, offset)
    return render(request, "jeopardy_rows.html", session, **context)
