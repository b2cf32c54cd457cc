"""Request ids and the one log line per request.

Every request gets an id: the client's ``X-Request-ID`` when it is a sensible token, else a
new one. It is echoed in the response, bound to every log line written while the request is
handled (threads included), and closes with one line: method, path, status, duration. A
client that goes away before the request is answered is one ``info`` line, not an error.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import structlog
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from ... import metrics

log = structlog.get_logger("ordertower.http")
HEADER = b"x-request-id"
_ACCEPTED = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,128}$")
# nginx's code for "client closed request": only ever logged, never sent to anyone
CLIENT_CLOSED = 499
SERVER_SHUTTING_DOWN = 503
# probes and scrapes run every few seconds: logged at debug so they do not drown the rest
_QUIET_PATHS = ("/health", "/metrics")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == HEADER and _ACCEPTED.match(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestLog:
    """ASGI middleware, outermost: request id in, request id out, one line per request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_from(scope.get("headers", []))
        started = time.perf_counter()
        status: int | None = None  # until a response starts

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, rid.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            cut_short = False
            try:
                await self.app(scope, receive, send_with_id)
            except asyncio.CancelledError:
                # the server cut this request short (its shutdown grace is over): answer 503
                # if nothing was sent yet and end quietly, not with a traceback per request
                cut_short = True
                if status is None:
                    await _answer_shutting_down(send_with_id)
            finally:
                self._line(scope, status or 500, time.perf_counter() - started, cut_short)

    @staticmethod
    def _line(scope, status: int, seconds: float, cut_short: bool) -> None:
        path = scope.get("path", "")
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        metrics.HTTP_REQUESTS.labels(scope.get("method", ""), route, str(status)).inc()
        metrics.HTTP_SECONDS.labels(scope.get("method", ""), route).observe(seconds)
        fields = {"method": scope.get("method"), "path": path, "status": status,
                  "duration_ms": round(seconds * 1000, 1)}
        if status == CLIENT_CLOSED:
            log.info("client disconnected", **fields)
        elif cut_short:
            log.info("request cut short: shutting down", **fields)
        elif path.startswith(_QUIET_PATHS):
            log.debug("request", **fields)
        else:
            log.info("request", **fields)


async def _answer_shutting_down(send) -> None:
    try:
        await send({"type": "http.response.start", "status": SERVER_SHUTTING_DOWN,
                    "headers": [(b"connection", b"close"), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
    except Exception:  # the connection is gone
        pass


async def client_disconnected(_request, _exc: ClientDisconnect) -> Response:
    """The client closed the connection mid-request: nothing to answer, nothing went wrong
    here. (The request line logs it once, as ``client disconnected``.)"""
    return Response(status_code=CLIENT_CLOSED)
