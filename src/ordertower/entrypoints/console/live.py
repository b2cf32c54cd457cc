"""``GET /console/events``: the event stream for the console's pages (the session, not a
bearer key, is the credential: a browser's EventSource cannot send headers).

The same stream as ``GET /api/v1/events`` with the same filters (``order``, ``type``,
``customer``) and ``Last-Event-ID`` or ``?after=`` resumption (a page passes the position it read before its
data: ``position``), else from now on; every event is named ``change`` so that an
element refreshes with ``hx-trigger="sse:change"``.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from ..api.events import open_stream
from .session import ConsoleSession, console_session

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/events")
async def console_events(request: Request, order: str | None = None, type: str | None = None,
                         customer: str | None = None, after: str | None = None,
                         session: ConsoleSession = Depends(console_session)):
    return await open_stream(request, order, type, customer, after, event_name="change", from_now=True)


async def position(request: Request) -> int:
    """Where the event stream stands now: a page reads this BEFORE its data and connects with
    ``?after=`` it, so that no event written between rendering and connecting is missed."""
    from ...adapters.store.event_feed import feed_of

    return await asyncio.to_thread(feed_of(request.app.state.container.store).now)
