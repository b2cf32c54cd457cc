"""Server-sent events: ``GET /api/v1/events`` streams the outbox (``events``) as it grows.

Each event is ``id:`` its position in the outbox (monotonic), ``event:`` its type, ``data:``
the event as JSON (as ``orders/{id}/history`` shows it). Filters: ``order``, ``type`` (comma
list), ``customer``. A client resumes where it stopped with ``Last-Event-ID`` (what browsers
send when they reconnect) or ``?after=N``; without either the stream starts with the events
written from now on, or, with ``order``, with that order's first event. A comment line
(``: heartbeat``) goes out when nothing else has for ``ORDERTOWER_SSE_HEARTBEAT`` seconds.

The stream reads the outbox in small batches every ``events_poll_seconds``, never past the
feed's horizon (adapters/store/event_feed.py), so an event committed late is never
skipped; reads run in threads, never on the event loop. It ends when the client goes away or
the server shuts down.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ...adapters.store.event_feed import EventFeed, feed_of
from ...domain.errors import Issue
from ...domain.input_parsers import whole_number
from .params import text_query
from .problems import Problem
from .representations import event_entry

router = APIRouter(prefix="/api/v1", tags=["operations"])
BATCH = 200
RETRY_MS = 2000  # tells EventSource clients how soon to reconnect
HEARTBEAT = b": heartbeat\n\n"


def sse(*, data: str | None = None, event: str | None = None, id: str | None = None,
        retry: int | None = None, comment: str | None = None) -> bytes:
    """One frame of the ``text/event-stream`` format (single-line fields)."""
    lines = [f": {comment}"] if comment is not None else []
    lines += [f"{name}: {value}" for name, value in (("event", event), ("data", data), ("id", id),
                                                      ("retry", retry)) if value is not None]
    return ("\n".join(lines) + "\n\n").encode()


def _position(value: str | None, name: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return whole_number(value.strip())
    except ValueError:
        raise Problem(400, "bad-request", "Bad request",
                      f"{name} is the id of the last event received: a whole number.",
                      [Issue(name, "expected a whole number (an event's id: line)")]) from None


def _types(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [t.strip() for t in value.split(",")]
    if not all(names) or any(len(n) > 100 for n in names):
        raise Problem(400, "bad-request", "Bad request", "type is a comma-separated list of event types.",
                      [Issue("type", "expected event types separated by commas, e.g. "
                                     "ProductOrderStateChangeEvent,PlanItemStateChangeEvent")])
    return names


@router.get("/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "A stream of server-sent events"}})
async def event_stream(
        request: Request, order: text_query("Only this order's events.") = None,
        type: text_query("Only these event types (comma-separated).", max_length=2000) = None,
        customer: text_query("Only this customer's events.") = None,
        after: text_query("Start after this event id (as Last-Event-ID).", max_length=18) = None,
) -> StreamingResponse:
    return await open_stream(request, order, type, customer, after)


async def open_stream(request: Request, order: str | None, type: str | None,
                      customer: str | None, after: str | None,
                      event_name: str | None = None, from_now: bool = False) -> StreamingResponse:
    """The stream (also the console's, whose credential is its session). ``event_name``:
    name every event so (the console uses ``change``); default, the event's type.
    ``from_now``: without a resume position, start with the events written from now on even
    for one order (the console has just rendered what came before)."""
    c = request.app.state.container
    types = _types(type)
    start = _position(request.headers.get("last-event-id"), "Last-Event-ID")
    if start is None:
        start = _position(after, "after")
    feed = feed_of(c.store)
    if start is None:
        start = await asyncio.to_thread(feed.first_of_order, order) if order and not from_now else \
            await asyncio.to_thread(feed.now)
    return StreamingResponse(
        _stream(request, feed, start, types, order, customer, event_name), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(request: Request, feed: EventFeed, cursor: int, types: list[str] | None,
                  order: str | None, customer: str | None,
                  event_name: str | None = None) -> AsyncIterator[bytes]:
    c = request.app.state.container
    poll = c.settings.events_poll_seconds
    heartbeat = c.settings.sse_heartbeat_seconds
    state = request.app.state
    state.event_streams = getattr(state, "event_streams", 0) + 1
    try:
        yield sse(comment="ordertower events", retry=RETRY_MS)
        quiet_since = time.monotonic()
        while not c.shutting_down.is_set():
            upto = await asyncio.to_thread(feed.horizon, poll / 2)
            while upto > cursor and not c.shutting_down.is_set():
                rows = await asyncio.to_thread(feed.read, cursor, upto, types=types, order_id=order,
                                               customer=customer, limit=BATCH)
                for row in rows:
                    yield sse(data=json.dumps(event_entry(row), default=str), event=event_name or row["type"],
                              id=str(row["id"]))
                    quiet_since = time.monotonic()
                cursor = rows[-1]["id"] if len(rows) == BATCH else upto
            if time.monotonic() - quiet_since >= heartbeat:
                yield HEARTBEAT
                quiet_since = time.monotonic()
            await asyncio.sleep(min(poll, heartbeat))
    finally:
        state.event_streams -= 1
