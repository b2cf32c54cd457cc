"""HTTP callouts to fulfillment systems: httpx's client over aiohttp's connection pool.

``send`` never raises for a transport problem: it answers a CalloutReply (the system
answered, whatever the status) or a CalloutFailure (no usable answer: a time-out, a request
that could not be delivered or a connection dropped mid-answer, a body too large to read), so
the engine judges outcomes without knowing httpx or aiohttp.

A misbehaving system cannot hold a worker: the item's ``timeout`` bounds the whole exchange
(connecting, sending, and reading the whole answer, however slowly it trickles in), and at
most MAX_RESPONSE_BYTES of an answer are read.

The requests go out through aiohttp (``httpx_aiohttp.AiohttpTransport``, one pool of up to
``max_connections`` connections), not httpx's own transport: httpcore's pool looks at every
one of its connections, with a system call each, for every request it hands out
(encode/httpcore#924 and #928), and its anyio and h11 layers cost a worker more than the rest
of a callout. With hundreds of callouts in flight, a request cost the client 0.8 to 1.0 ms of
CPU through httpx's transport (in pools of 16 connections), 0.3 to 0.4 ms through aiohttp's
(docs/decisions.md, "Callouts through aiohttp's connection pool"). A callout is handed to
the transport directly (httpx's transport interface, which a test also gives: an ASGI app in
process), not through httpx's client: what the client adds (authentication, redirects, cookies,
event hooks) a callout does not use, and it cost a tenth of a worker's time.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from .. import __version__
from ..engine.ports import CalloutFailure, CalloutReply

MAX_RESPONSE_BYTES = 1024 * 1024  # a fulfillment system's answer is a small JSON document
KEEPALIVE_SECONDS = 5.0  # an idle connection to a system is closed after this (httpx's default)
# what every callout says of itself (the engine adds its idempotency key and order)
HEADERS = {"User-Agent": f"ordertower/{__version__}", "Accept": "application/json"}


class _Oversized(Exception):
    pass


def _aiohttp_transport(max_connections: int) -> AiohttpTransport:
    """aiohttp's pool: ``max_connections`` at most, to all systems together (each system's
    own limit is the engine's, engine/dispatcher.py). No cookies are kept or sent: a callout
    is a request of its own, idempotent and authenticated by its headers, and a cookie one
    answer set must not ride along on the next order's request. The session is made on the
    first callout, in the worker's event loop."""
    tls = httpx.create_ssl_context()

    def session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, ssl=tls,
                                           keepalive_timeout=KEEPALIVE_SECONDS),
            cookie_jar=aiohttp.DummyCookieJar())
    return AiohttpTransport(client=session)


def _dropped(exc: BaseException) -> bool:
    """A connection lost or refused that httpx_aiohttp reports as a time-out (it maps every
    ``aiohttp.ClientConnectionError`` to ``httpx.ConnectTimeout``): not a time-out."""
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientError) and not isinstance(cause, TimeoutError)


class HttpCallouts:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 1000,
                 max_response_bytes: int = MAX_RESPONSE_BYTES):
        self._transport = transport or _aiohttp_transport(max_connections)
        self.max_response_bytes = max_response_bytes

    async def send(self, method: str, url: str, *, json: Any, headers: dict[str, str],
                   timeout: float) -> CalloutReply | CalloutFailure:
        status: int | None = None
        request = httpx.Request(method, url, json=json, headers=HEADERS | headers, extensions={
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), timeout)})
        try:
            async with asyncio.timeout(timeout):
                resp = await self._transport.handle_async_request(request)
                try:
                    status = resp.status_code
                    content = await self._read(resp)
                finally:
                    await resp.aclose()
        except _Oversized:
            return CalloutFailure("oversized", f"answered {status} with a body over "
                                  f"{self.max_response_bytes // 1024} KiB", status_code=status)
        except (TimeoutError, httpx.TimeoutException) as exc:
            if _dropped(exc):
                return CalloutFailure("connection", repr(exc.__cause__))
            return CalloutFailure("timeout", f"no complete answer within {timeout:g} s")
        except (httpx.HTTPError, aiohttp.ClientError) as exc:  # aiohttp's: those not mapped
            return CalloutFailure("connection", repr(exc))
        try:
            body = jsonlib.loads(content) if content else None
        except ValueError:
            body = None
        text = content.decode(resp.encoding or "utf-8", errors="replace")
        return CalloutReply(resp.status_code, body, text, dict(resp.headers))

    async def _read(self, resp: httpx.Response) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise _Oversized
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise _Oversized
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        await self._transport.aclose()
