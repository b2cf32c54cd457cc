"""Reading JSON request bodies safely: media type, size, nesting depth, syntax."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from ...domain.errors import Issue
from .problems import Problem

JSON_TYPES = ("application/json", "application/merge-patch+json")


def _depth(raw: bytes, limit: int) -> int:
    """Nesting depth of a JSON text (strings skipped), stopping once past ``limit``."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


async def read_json(request: Request, *, max_bytes: int, max_depth: int,
                    media_types: tuple[str, ...] = JSON_TYPES) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in media_types:
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      f"Send the body as {' or '.join(media_types)} (got '{ctype or 'none'}').",
                      [Issue("Content-Type", f"expected {' or '.join(media_types)}")])
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise _too_large(max_bytes)
    if _depth(raw, max_depth) > max_depth:
        raise Problem(400, "bad-request", "Body nested too deeply",
                      f"JSON nesting deeper than {max_depth} levels is refused.",
                      [Issue("body", f"nested deeper than {max_depth} levels")])
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise Problem(400, "bad-request", "Malformed JSON", f"The body is not valid JSON ({exc}).",
                      [Issue("body", f"not valid JSON {where}".strip())]) from None


def _too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "Body too large",
                   f"The body is larger than {limit} bytes.", [Issue("body", f"over {limit} bytes")])
