"""TMF630 list conventions: fields, offset/limit, filters, X-Total-Count/X-Result-Count."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from ...domain.errors import Issue
from .problems import Problem

MAX_LIMIT = 1000


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
        if not raw.isdigit() or not low <= int(raw) <= high:
            issues.append(Issue(name, f"expected a whole number from {low} to {high}"))
            return default
        return int(raw)

    offset = number("offset", 0, 0, 10**9)
    limit = number("limit", 100, 1, MAX_LIMIT)
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
