"""TMF630 list conventions: fields, offset/limit, filters, X-Total-Count/X-Result-Count."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ...domain import input_parsers
from ...domain.errors import Issue
from .params import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from .problems import Problem


@dataclass(frozen=True)
class ListQuery:
    fields: list[str] | None
    offset: int
    limit: int
    filters: dict[str, str]


def list_query(request: Request, allowed_filters: tuple[str, ...]) -> ListQuery:
    params = request.query_params
    issues: list[Issue] = []

    def number(name: str, default: int, low: int, high: int) -> int:
        raw = params.get(name)
        if raw is None:
            return default
        try:
            return input_parsers.whole_number(raw, low, high)
        except ValueError as exc:
            issues.append(Issue(name, str(exc)))
            return default

    offset = number("offset", 0, 0, MAX_OFFSET)
    limit = number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    fields_raw = params.get("fields")
    fields = [f.strip() for f in fields_raw.split(",") if f.strip()] if fields_raw else None
    filters: dict[str, str] = {}
    for name in params.keys():
        if name in ("offset", "limit", "fields"):
            continue
        if name not in allowed_filters:
            issues.append(Issue(name, f"unknown filter (filter on: {', '.join(allowed_filters)})"))
            continue
        if len(params.getlist(name)) > 1:
            issues.append(Issue(name, "give a filter once"))
            continue
        filters[name] = params[name]
    if issues:
        raise Problem(400, "bad-request", "Bad query", "The query parameters are not valid.", issues)
    return ListQuery(fields, offset, limit, filters)


def fields_only(request: Request) -> list[str] | None:
    raw = request.query_params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def count_headers(total: int, shown: int) -> dict[str, str]:
    return {"X-Total-Count": str(total), "X-Result-Count": str(shown)}
