"""Delivering a notification to a hub listener: POST JSON to its callback (httpx, one shared
connection pool). 2xx is delivered; anything else (another status, a time-out, a refused
connection) is a failure, described in one line for the listener's ``lastError``."""

from __future__ import annotations

from typing import Any

import httpx

from .. import __version__
from ..engine.ports import DeliveryResult


class HttpEventDelivery:
    def __init__(self, timeout_seconds: float = 10.0, transport: httpx.AsyncBaseTransport | None = None,
                 max_connections: int = 100):
        self.timeout_seconds = timeout_seconds
        self._client = httpx.AsyncClient(
            transport=transport, follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
            headers={"User-Agent": f"ordertower/{__version__}"})

    async def post(self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> DeliveryResult:
        try:
            resp = await self._client.post(url, json=body, headers=headers, timeout=self.timeout_seconds)
        except httpx.TimeoutException:
            return DeliveryResult(False, None, f"no answer within {self.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return DeliveryResult(False, None, f"{type(exc).__name__}: {exc}" if str(exc)
                                  else type(exc).__name__)
        if 200 <= resp.status_code < 300:
            return DeliveryResult(True, resp.status_code)
        excerpt = " ".join(resp.text[:200].split())
        return DeliveryResult(False, resp.status_code,
                              f"answered {resp.status_code}" + (f": {excerpt}" if excerpt else ""))

    async def aclose(self) -> None:
        await self._client.aclose()
