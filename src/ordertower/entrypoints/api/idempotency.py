"""The Idempotency-Key request header (IETF httpapi draft) on the order intake routes.

``@idempotent_route("PATCH productOrder/{order_id}")`` under a route's decorator makes it
honour the header: a retry with the same key and body is answered the first response again
(with ``Idempotent-Replayed: true``), another body with the key is refused (422), a retry
while the first is still running too (409). Only a successful (2xx) response is kept; any
other outcome, an exception included, releases the key. Without the header the route runs
exactly as before.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Awaitable, Callable

import structlog
from fastapi import Request
from fastapi.responses import Response

from ...domain.errors import Issue
from ...services import idempotency
from .json_body import read_body
from .problems import Problem

HEADER = "Idempotency-Key"
KEY_MAX = 255
KEPT_HEADERS = ("content-type", "location", "etag")  # what a replay answers again
log = structlog.get_logger("ordertower.api")
_running: set[asyncio.Task] = set()  # claimed requests, finished even if their client leaves


def parse_key(values: list[str]) -> str | None:
    """The key of the Idempotency-Key header values, or None without the header.

    The draft writes the key as a structured-field string (``"abc"``); the bare form (``abc``)
    is accepted too and names the same key. 1 to 255 printable ASCII characters, once."""
    if not values:
        return None
    if len(values) > 1:
        raise _bad_key("send the header once")
    key = values[0].strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not 1 <= len(key) <= KEY_MAX:
        raise _bad_key(f"expected 1 to {KEY_MAX} characters")
    if any(not " " <= ch <= "~" for ch in key):
        raise _bad_key("expected printable ASCII characters only")
    return key


def _bad_key(message: str) -> Problem:
    return Problem(400, "bad-request", "Bad Idempotency-Key", f"Idempotency-Key: {message}.",
                   [Issue(HEADER, message)])


async def idempotent(request: Request, operation: str,
                     handler: Callable[[], Awaitable[Response]]) -> Response:
    """Run ``handler`` for ``request`` under its Idempotency-Key (if any) in the scope of
    ``operation`` (e.g. "POST productOrder") and of the caller (``request.state.actor``)."""
    key = parse_key(request.headers.getlist(HEADER))
    if key is None:
        return await handler()
    c = request.app.state.container
    body = await read_body(request, max_bytes=c.settings.max_order_body_bytes)
    scope = idempotency.scope_of(operation, getattr(request.state, "actor", None))
    try:
        outcome = await asyncio.to_thread(idempotency.begin, c.store, key, scope, body,
                                          c.settings.idempotency_ttl_seconds)
    except idempotency.KeyReused:
        raise Problem(422, "idempotency-key-reused", "Idempotency-Key reused",
                      "This Idempotency-Key was used for another request; use a new key.",
                      [Issue(HEADER, "already used with another request body")]) from None
    except idempotency.KeyInProgress:
        raise Problem(409, "idempotency-key-in-progress", "Request in progress",
                      "A request with this Idempotency-Key is still being handled; retry later.",
                      [Issue(HEADER, "a request with this key is in progress")],
                      headers={"Retry-After": "1"}) from None
    if isinstance(outcome, idempotency.Replay):
        return Response(outcome.body, status_code=outcome.status_code,
                        headers=outcome.headers | {"Idempotent-Replayed": "true"})
    # shielded: once the key is claimed, the response is kept or the key released, even when
    # the client goes away while the use case runs (its thread would still commit)
    task = asyncio.create_task(_run_claimed(c.store, outcome, handler))
    _running.add(task)
    task.add_done_callback(_running.discard)
    return await asyncio.shield(task)


async def _run_claimed(store, claim: idempotency.Claim,
                       handler: Callable[[], Awaitable[Response]]) -> Response:
    try:
        response = await handler()
    except BaseException:
        await _release(store, claim)
        raise
    if not 200 <= response.status_code < 300:
        await _release(store, claim)
        return response
    kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
    try:
        await asyncio.to_thread(idempotency.keep, store, claim,
                                idempotency.Replay(response.status_code, kept, bytes(response.body)))
    except Exception as exc:  # the work is done: answer it; retries get 409 until expiry
        log.error("idempotent response not kept", scope=claim.scope, error=repr(exc))
    return response


async def _release(store, claim: idempotency.Claim) -> None:
    try:
        await asyncio.to_thread(idempotency.release, store, claim)
    except Exception as exc:  # the key then stays in progress until it expires
        log.error("idempotency key not released", scope=claim.scope, error=repr(exc))


def idempotent_route(operation: str):
    """Decorate a route ``async def route(..., request: Request)`` so it honours the header.
    ``operation`` may name path parameters: "PATCH productOrder/{order_id}"."""
    def wrap(route):
        @functools.wraps(route)
        async def honouring_key(*args, **kwargs):
            request: Request = kwargs["request"]
            return await idempotent(request, operation.format(**request.path_params),
                                    lambda: route(*args, **kwargs))
        return honouring_key
    return wrap
