"""Bearer-key access control for the API (off with ``serve --no-auth``)."""

from __future__ import annotations

import asyncio

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request

from ...domain.errors import Issue
from ...services.access import identity_of
from .problems import problem_response

# Open paths: each of these, and everything below it (a whole path segment: "/healthz" is not
# "/health"). The callback URLs are single-use capabilities: their token is the credential.
OPEN_PREFIXES = ("/health", "/simulators", "/api/v1/callbacks", "/docs", "/openapi.json")


def is_open(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPEN_PREFIXES)


class BearerKeyMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, store):
        super().__init__(app)
        self.store = store
        self._known: dict[str, str] = {}

    async def dispatch(self, request: Request, call_next):
        path = request.url.path
        if is_open(path):
            return await call_next(request)
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return problem_response(401, "unauthorized", "Unauthorized",
                                    "Send 'Authorization: Bearer KEY'.",
                                    [Issue("Authorization", "missing bearer key")],
                                    headers={"WWW-Authenticate": "Bearer"})
        key = key.strip()
        identity = self._known.get(key)
        if identity is None:
            identity = await asyncio.to_thread(identity_of, self.store, key)
            if identity is None:
                return problem_response(401, "unauthorized", "Unauthorized", "Unknown API key.",
                                        [Issue("Authorization", "unknown or revoked key")],
                                        headers={"WWW-Authenticate": "Bearer"})
            self._known[key] = identity
        request.state.actor, request.state.role = identity
        return await call_next(request)
