"""The console's session: an API key exchanged at login for a signed, expiring cookie
(HttpOnly, SameSite=Strict) that carries the key's SHA-256 and a CSRF token.

The cookie is signed (itsdangerous) with ``ORDERTOWER_CONSOLE_SECRET`` (default: a random key
per process) and expires after ``ORDERTOWER_CONSOLE_SESSION_HOURS``. Every request looks the
key up again, so revoking a key ends its console sessions at once. Before login the cookie
holds only a CSRF token (the login form is protected too). Under ``serve --no-auth`` the
session is the local admin's and is made on the first visit.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from ...services.access import identity_of_hash
from ...engine.actors import set_actor
from ..api.roles import NO_AUTH_ROLE

COOKIE = "ordertower_console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOCAL_ACTOR = "local"


@dataclass(frozen=True)
class ConsoleSession:
    actor: str
    role: str
    csrf: str
    key_hash: str | None  # None under --no-auth


class LoginRequired(Exception):
    """No (valid) session: the browser goes to the login page."""

    def __init__(self, next_url: str):
        self.next_url = next_url


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    if getattr(state, "console_serializer", None) is None:
        secret = state.container.settings.console_secret or secrets.token_urlsafe(32)
        state.console_serializer = URLSafeTimedSerializer(secret, salt="ordertower-console")
    return state.console_serializer


def _max_age(request: Request) -> int:
    return int(request.app.state.container.settings.console_session_hours * 3600)


def read_cookie(request: Request) -> dict | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=_max_age(request))
    except BadSignature:  # also an expired one (SignatureExpired)
        return None
    return data if isinstance(data, dict) and isinstance(data.get("c"), str) else None


def write_cookie(request: Request, response: Response, key_hash: str | None, *,
                 logged_in: bool) -> str:
    """Put a new session (with a new CSRF token) on the response; returns the token."""
    csrf = secrets.token_urlsafe(24)
    value = _serializer(request).dumps({"k": key_hash, "c": csrf, "in": logged_in})
    response.set_cookie(COOKIE, value, max_age=_max_age(request), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return csrf


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def auth_on(request: Request) -> bool:
    return bool(request.app.state.container.settings.auth)


async def session_of(request: Request) -> ConsoleSession | None:
    """The logged-in session of the request, or None."""
    data = read_cookie(request)
    if data is None or not data.get("in"):
        return None
    if not auth_on(request):
        return ConsoleSession(LOCAL_ACTOR, NO_AUTH_ROLE, data["c"], None)
    key_hash = data.get("k")
    if not isinstance(key_hash, str):
        return None
    identity = await asyncio.to_thread(identity_of_hash, request.app.state.container.store, key_hash)
    if identity is None:  # revoked since
        return None
    return ConsoleSession(identity[0], identity[1], data["c"], key_hash)


async def console_session(request: Request) -> ConsoleSession:
    """Dependency of every console page: the session, with the API's actor and role set."""
    session = await session_of(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    request.state.actor, request.state.role = session.actor, session.role
    set_actor(session.actor)  # what the page's action changes records this actor (the audit log)
    return session


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


async def given_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def checked_post(request: Request) -> ConsoleSession:
    """Dependency of every console POST: a session and its CSRF token, else 403."""
    session = await console_session(request)
    if not csrf_ok(session.csrf, await given_csrf(request)):
        raise CsrfRefused()
    return session


def login_url(next_url: str) -> str:
    return "/console/login?next=" + quote(next_url, safe="/")


def safe_next(value: str | None) -> str:
    """Where to go after login: only a console path of this site."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/orders"
