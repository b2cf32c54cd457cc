"""Reading JSON request bodies safely: media type, size, nesting depth, syntax."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fastapi import Request

from ...domain.errors import Issue
from .problems import Problem

JSON_TYPES = ("application/json", "application/merge-patch+json")


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# what can make a parsed string unstorable: a \u0000 or surrogate escape, or a UTF-8 surrogate
_SUSPECT = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def _depth(raw: bytes, limit: int) -> int:
    """Nesting depth of a JSON text (strings skipped), stopping once past ``limit``.

    Strings are cut out and everything but brackets deleted by the regex engine, so only
    the brackets are walked in Python (a 2 MB order has some 100,000 bytes of them)."""
    stripped = _STRING.sub(b"", raw)
    quote = stripped.find(b'"')
    if quote >= 0:  # an unterminated string runs to the end
        stripped = stripped[:quote]
    depth = deepest = 0
    for byte in stripped.translate(None, _NOT_BRACKETS):
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw body, at most ``max_bytes`` (else 413), read once: it is kept where Starlette
    keeps it, so ``request.body()`` and a later read_json answer the same bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise _too_large(max_bytes)
    body = bytes(raw)
    request._body = body  # Starlette's cache of the body (Request.body, Request.stream)
    return body


async def read_json(request: Request, *, max_bytes: int, max_depth: int,
                    media_types: tuple[str, ...] = JSON_TYPES) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in media_types:
        raise Problem(415, "unsupported-media-type", "Unsupported media type",
                      f"Send the body as {' or '.join(media_types)} (got '{ctype or 'none'}').",
                      [Issue("Content-Type", f"expected {' or '.join(media_types)}")])
    raw = await read_body(request, max_bytes=max_bytes)
    if _depth(raw, max_depth) > max_depth:
        raise Problem(400, "bad-request", "Body nested too deeply",
                      f"JSON nesting deeper than {max_depth} levels is refused.",
                      [Issue("body", f"nested deeper than {max_depth} levels")])
    try:
        value = json.loads(raw, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        where = f"line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise Problem(400, "bad-request", "Malformed JSON", f"The body is not valid JSON ({exc}).",
                      [Issue("body", f"not valid JSON {where}".strip())]) from None
    bad = _unstorable_text(value, "") if _SUSPECT.search(raw) else None
    if bad is not None:
        where, what = bad
        raise Problem(400, "bad-request", "Unsupported text in body",
                      f"The body contains {what}, which ordertower cannot store.",
                      [Issue(where or "body", f"contains {what}")])
    return value


def _unstorable_text(value: Any, path: str) -> tuple[str, str] | None:
    """The first string (key or value) that no database text can hold, with its path.

    A lone UTF-16 surrogate escape ("\\ud800") parses but cannot be written as UTF-8, and
    PostgreSQL text refuses U+0000: both are refused here, on every database alike, rather
    than failing with a 500 once the order reaches the store or the response.
    """
    if isinstance(value, str):
        return _text_problem(value, path)
    if isinstance(value, list):
        for i, element in enumerate(value):
            found = _unstorable_text(element, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, dict):
        for key, element in value.items():
            bad_key = _text_problem(key, path or "body")
            if bad_key:  # never echo the bad key itself: the problem response must encode
                return bad_key[0], bad_key[1] + " in a member name"
            found = _unstorable_text(element, f"{path}.{key}" if path else key)
            if found:
                return found
    return None


def _text_problem(text: str, path: str) -> tuple[str, str] | None:
    if "\x00" in text:
        return path, "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path, "an unpaired UTF-16 surrogate escape"
    return None


def _finite_float(text: str) -> float:
    """JSON numbers are finite: 1e400 would become inf, which no JSON output can carry."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    """NaN and Infinity are JavaScript, not JSON (RFC 8259)."""
    raise ValueError(f"{name} is not a JSON value")


def _too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "Body too large",
                   f"The body is larger than {limit} bytes.", [Issue("body", f"over {limit} bytes")])
