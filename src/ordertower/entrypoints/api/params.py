"""Query and path parameters, declared once with their type and bounds (so the OpenAPI
document shows them) and parsed by the strict parsers of ``domain/input_parsers.py`` (so a
'²' in ``limit`` or a year 10000 is a 400 naming the parameter, never a 500).

A route writes ``limit: Limit = DEFAULT_LIMIT``; FastAPI validates before the route runs and a
failure becomes a 400 problem (or TMF Error) naming the parameter (problems.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

from ...domain import input_parsers
from ...domain.errors import Issue
from ...domain.input_parsers import MAX_ID_LENGTH
from .problems import Problem

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 10**9
MAX_TEXT = 200


def _whole_number(value: Any) -> Any:
    return input_parsers.whole_number(value) if isinstance(value, str) else value


def _timestamp(value: Any) -> Any:
    return input_parsers.timestamp(value) if isinstance(value, str) else value


def _duration(value: Any) -> Any:
    return input_parsers.duration(value) if isinstance(value, str) else value


WholeNumber = BeforeValidator(_whole_number)

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many (TMF630 paging)."),
                   WholeNumber]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many (1 to {MAX_LIMIT})."),
                  WholeNumber]
Fields = Annotated[str | None, Query(max_length=1000, description=(
    "Comma-separated attributes to show (TMF630); id and href always come."))]


def text_query(description: str, *, alias: str | None = None, max_length: int = MAX_TEXT):
    """An optional text query parameter (a filter) of bounded length."""
    return Annotated[str | None, Query(alias=alias, max_length=max_length, description=description)]


def timestamp_query(description: str, *, alias: str | None = None):
    return Annotated[datetime | None, Query(alias=alias, description=description + " (RFC 3339)"),
                     BeforeValidator(_timestamp)]


def duration_query(description: str):
    """A duration (the route receives a timedelta); declared as the text it is written in."""
    return Annotated[str | None, Query(
        description=description + " (500ms, 10s, 5m, 2h, 1d, 1w, 1h30m; at most ten years)",
        json_schema_extra={"pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+$", "maxLength": 64}),
        AfterValidator(_duration)]


def id_path(description: str):
    """An id in the path: 1 to 200 characters, no control character."""
    return Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, description=description),
                     AfterValidator(input_parsers.identifier)]


def duration_field(value: Any, name: str) -> float | None:
    """A duration given in a JSON body (e.g. a bulk action's filter), in seconds."""
    if value is None:
        return None
    try:
        return input_parsers.duration(value).total_seconds()
    except ValueError as exc:
        raise Problem(400, "bad-request", "Bad request", f"{name}: {exc}.", [Issue(name, str(exc))]) from None
