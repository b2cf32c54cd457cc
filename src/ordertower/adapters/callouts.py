"""HTTP callouts to fulfillment systems (httpx, one shared connection pool).

``send`` never raises for a transport problem: it answers a CalloutReply (the system
answered, whatever the status) or a CalloutFailure (no usable answer: a time-out, a request
that could not be delivered or a connection dropped mid-answer, a body too large to read), so
the engine judges outcomes without knowing httpx.

A misbehaving system cannot hold a worker: the item's ``timeout`` bounds the whole exchange
(connecting, sending, and reading the whole answer, however slowly it trickles in), and at
most MAX_RESPONSE_BYTES of an answer are read.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any

import httpx

from ..engine.ports import CalloutFailure, CalloutReply

MAX_RESPONSE_BYTES = 1024 * 1024  # a fulfillment system's answer is a small JSON document


class _Oversized(Exception):
    pass


class HttpCallouts:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 1000,
                 max_response_bytes: int = MAX_RESPONSE_BYTES):
        self._client = httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=100),
            follow_redirects=False)
        self.max_response_bytes = max_response_bytes

    async def send(self, method: str, url: str, *, json: Any, headers: dict[str, str],
                   timeout: float) -> CalloutReply | CalloutFailure:
        status: int | None = None
        try:
            async with asyncio.timeout(timeout):
                async with self._client.stream(method, url, json=json, headers=headers,
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
        await self._client.aclose()
