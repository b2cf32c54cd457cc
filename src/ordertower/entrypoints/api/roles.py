"""The role check of a route or of one option of it (e.g. ``PATCH ...?force=true``)."""

from __future__ import annotations

from starlette.requests import Request

from ...domain.errors import Issue
from ...domain.people import User
from ...domain.roles import at_least
from .problems import Problem

# Without access control (``serve --no-auth``, loopback only) whoever calls is the local admin.
NO_AUTH_ROLE = "admin"


def role_of(request: Request) -> str:
    return getattr(request.state, "role", None) or NO_AUTH_ROLE


def actor_of(request: Request) -> str:
    return getattr(request.state, "actor", None) or "local"


def caller(request: Request) -> User:
    """The authenticated user: the API key's name and role (the local admin without access control)."""
    return User(actor_of(request), role_of(request))


def require_role(request: Request, least: str, what: str = "this request") -> None:
    """Refuse with 403 unless the caller's role is at least ``least``."""
    role = role_of(request)
    if not at_least(role, least):
        raise Problem(403, "forbidden", "Forbidden",
                      f"{what} needs the role '{least}' or higher; this key has '{role}'.",
                      [Issue("Authorization", f"role '{role}' is below '{least}'")])
