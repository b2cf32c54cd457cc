"""HTTP callouts to fulfillment systems (httpx, one shared connection pool).

``send`` never raises for a transport problem: it answers a CalloutReply (the system
answered, whatever the status) or a CalloutFailure (no usable answer: a time-out, a request
that could not be delivered or a connection dropped mid-answer, a body too large to read), so
the engine judges outcomes without knowing httpx.

A misbehaving system cannot hold a worker: the item's ``timeout`` bounds the whole exchange
(connecting, sending, and reading the whole answer, however slowly it trickles in), and at
most MAX_RESPONSE_BYTES of an answer are read.

The connections are kept in several small pools (clients of SHARD_CONNECTIONS connections
each), a request going to the pool with the fewest requests in flight: httpcore's pool looks
at every one of its connections, with a system call each, for every request it hands out
(encode/httpcore#924 and #928, not merged), so one pool of 1,000 connections cost a worker
with hundreds of callouts in flight more than the callouts themselves (issue 11: a fifth of
a worker's time in the callout-bound benchmark). With 16 connections a pool, that look stays
small, and a worker's few callouts at a time still reuse one pool's kept-alive connections.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import math
from http.cookiejar import CookieJar
from typing import Any

import httpx

from ..engine.ports import CalloutFailure, CalloutReply

MAX_RESPONSE_BYTES = 1024 * 1024  # a fulfillment system's answer is a small JSON document
SHARD_CONNECTIONS = 16  # connections of each small pool (see above)


class _Oversized(Exception):
    pass


class _NoCookies(CookieJar):
    """Callouts neither keep nor send cookies: each is a request of its own, idempotent and
    authenticated by its headers, and a cookie one answer set must not ride along on the next
    order's request. (httpx parsed every answer's cookies: 6 % of a worker's time.)"""

    def extract_cookies(self, response, request) -> None:  # noqa: ANN001 - CookieJar's signature
        return None

    def add_cookie_header(self, request) -> None:  # noqa: ANN001
        return None


class HttpCallouts:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 1000,
                 max_response_bytes: int = MAX_RESPONSE_BYTES):
        shards = max(1, math.ceil(max_connections / SHARD_CONNECTIONS))
        each = math.ceil(max_connections / shards)
        tls = httpx.create_ssl_context()  # one for all the pools (each would make its own)
        self._clients = [httpx.AsyncClient(
            transport=transport, verify=tls,
            limits=httpx.Limits(max_connections=each, max_keepalive_connections=each),
            follow_redirects=False, cookies=_NoCookies()) for _ in range(shards)]
        self._in_flight = [0] * shards
        self.max_response_bytes = max_response_bytes

    async def send(self, method: str, url: str, *, json: Any, headers: dict[str, str],
                   timeout: float) -> CalloutReply | CalloutFailure:
        status: int | None = None
        shard = min(range(len(self._in_flight)), key=self._in_flight.__getitem__)
        self._in_flight[shard] += 1
        try:
            async with asyncio.timeout(timeout):
                async with self._clients[shard].stream(method, url, json=json, headers=headers,
                                                       timeout=timeout) as resp:
                    status = resp.status_code
                    content = await self._read(resp)
        except _Oversized:
            return CalloutFailure("oversized", f"answered {status} with a body over "
                                  f"{self.max_response_bytes // 1024} KiB", status_code=status)
        except (TimeoutError, httpx.TimeoutException):
            return CalloutFailure("timeout", f"no complete answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return CalloutFailure("connection", repr(exc))
        finally:
            self._in_flight[shard] -= 1
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
        for client in self._clients:
            await client.aclose()
