"""HTTP callouts to fulfillment systems (httpx, one shared connection pool).

``send`` never raises for a transport problem: it answers a CalloutReply (the system
answered, whatever the status) or a CalloutFailure (no answer: a time-out, or the request
could not be delivered), so the engine judges outcomes without knowing httpx."""

from __future__ import annotations

from typing import Any

import httpx

from ..engine.ports import CalloutFailure, CalloutReply


class HttpCallouts:
    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 500):
        self._client = httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=100),
            follow_redirects=False)

    async def send(self, method: str, url: str, *, json: Any, headers: dict[str, str],
                   timeout: float) -> CalloutReply | CalloutFailure:
        try:
            resp = await self._client.request(method, url, json=json, headers=headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            return CalloutFailure("timeout", repr(exc))
        except httpx.HTTPError as exc:
            return CalloutFailure("connection", repr(exc))
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = None
        return CalloutReply(resp.status_code, body, resp.text, dict(resp.headers))

    async def aclose(self) -> None:
        await self._client.aclose()
