"""HTTP callouts to fulfillment systems (httpx, one shared connection pool)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class CalloutResponse:
    status_code: int
    body: Any  # parsed JSON, or None
    text: str
    headers: dict[str, str]


class HttpCallouts:
    """Sends callouts; transport problems surface as httpx exceptions for the engine to judge."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 500):
        self._client = httpx.AsyncClient(
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=100),
            follow_redirects=False)

    async def send(self, method: str, url: str, *, json: Any, headers: dict[str, str],
                   timeout: float) -> CalloutResponse:
        resp = await self._client.request(method, url, json=json, headers=headers, timeout=timeout)
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = None
        return CalloutResponse(resp.status_code, body, resp.text, dict(resp.headers))

    async def aclose(self) -> None:
        await self._client.aclose()


def resolve_base_url(base_url: str, substitutions: dict[str, str]) -> str:
    """Fill ``{simulators}``-style markers of a system's base URL from configuration."""
    for key, value in substitutions.items():
        base_url = base_url.replace("{" + key + "}", value.rstrip("/"))
    return base_url.rstrip("/")
