"""Access control for every request, in one place: the route's least role comes from
``route_roles.ROUTE_ROLES``; the caller's role from its bearer key, looked up afresh on each
request (one statement on the unique index of ``api_keys.key_hash``), so a revoked key is
refused by its next request on every node, without a restart.

Without a key: 401 with a ``Bearer`` challenge; a key below the route's role: 403 naming the
role. With access control off (``serve --no-auth``, loopback only) the caller is the local
admin. The caller's name becomes the actor of everything the request changes (the audit log).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from ...domain.errors import Issue
from ...domain.roles import at_least
from ...engine.actors import LOCAL, reset_actor, set_actor
from ...services.access import identity_of
from .problems import database_error_response, error_response
from .route_roles import CONSOLE, OPEN, UNROUTED, RouteFinder, least_role


def _bearer(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def _unauthorized(request: Request, detail: str, issue: str):
    return error_response(request, 401, "unauthorized", "Unauthorized", detail,
                          [Issue("Authorization", issue)], headers={"WWW-Authenticate": "Bearer"})


class AccessControl:
    """ASGI middleware: who calls (key -> name and role) and whether the route allows it."""

    def __init__(self, app, store, routes, auth: bool = True):
        self.app = app
        self.store = store
        self.routes = routes  # the app's routes (a list, filled as routers are included)
        self.auth = auth
        self._finder: RouteFinder | None = None  # built at the first request: every route is in

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self._finder is None:
            self._finder = RouteFinder(self.routes)
        routed = self._finder.find(scope["method"], scope["path"])
        least = least_role(*routed) if routed else UNROUTED
        if least in (OPEN, CONSOLE):  # the console checks its own session (console/session.py)
            await self.app(scope, receive, send)
            return
        if not self.auth:  # request.state stays empty: roles.role_of says admin
            token = set_actor(LOCAL)
            try:
                await self.app(scope, receive, send)
            finally:
                reset_actor(token)
            return
        key = _bearer(request)
        if key is None:
            await _unauthorized(request, "Send 'Authorization: Bearer KEY'.",
                                "missing bearer key")(scope, receive, send)
            return
        try:
            identity = await asyncio.to_thread(identity_of, self.store, key)
        except Exception as exc:  # outside the app's handlers: answer a problem here too
            await database_error_response(request, exc)(scope, receive, send)
            return
        if identity is None:
            await _unauthorized(request, "Unknown API key.", "unknown or revoked key")(scope, receive, send)
            return
        actor, role = identity
        if not at_least(role, least or "admin"):
            await error_response(
                request, 403, "forbidden", "Forbidden",
                f"{scope['method']} {scope['path']} needs the role '{least}' or higher; "
                f"this key ('{actor}') has '{role}'.",
                [Issue("Authorization", f"role '{role}' is below '{least}'")])(scope, receive, send)
            return
        request.state.actor, request.state.role = actor, role
        token = set_actor(actor)
        try:
            await self.app(scope, receive, send)
        finally:
            reset_actor(token)
