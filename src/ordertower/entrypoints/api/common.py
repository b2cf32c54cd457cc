"""Small helpers shared by the operations routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from ...domain.errors import Issue
from .json_body import read_json
from .problems import Problem


async def json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    c = request.app.state.container
    if optional and not (await request.body()):
        return {}
    body = await read_json(request, max_bytes=c.settings.max_body_bytes,
                           max_depth=c.settings.max_json_depth)
    if not isinstance(body, dict):
        raise Problem(400, "bad-request", "Bad request", "Send a JSON object.",
                      [Issue("body", "expected a JSON object")])
    return body


def actor(request: Request, body: dict[str, Any] | None = None) -> str:
    """Who acts: the API key's name, else (without access control) what the body says."""
    named = getattr(request.state, "actor", None)
    if named:
        return named
    given = (body or {}).get("actor")
    return given if isinstance(given, str) and given else "anonymous"


def text_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise Problem(400, "bad-request", "Bad request", f"'{name}' must be a non-empty string.",
                      [Issue(name, "expected a non-empty string")])
    return value
