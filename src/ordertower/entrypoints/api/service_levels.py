"""Service levels: the jeopardy queue (GET /api/v1/jeopardy) and what the catalog promises
beside what the history has taught (GET /api/v1/service-levels)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ...services import service_levels as use_cases
from .paging import count_headers
from .params import DEFAULT_LIMIT, Limit, Offset
from .representations import iso

router = APIRouter(prefix="/api/v1", tags=["service levels"])

Level = Annotated[Literal["YELLOW", "RED"] | None, Query(
    description="Only orders at this jeopardy level (default: YELLOW and RED).")]


def queue_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "order": row["id"], "externalId": row["external_id"], "state": row["state"],
        "customer": row["customer_id"], "jeopardy": row["jeopardy"], "due": iso(row["due"]),
        "requested_completion": iso(row["requested_completion_date"]),
        "expected_completion": iso(row["expected_completion_date"]),
        "projected_completion": iso(row["projected_completion"]),
        "items": [{"id": i["id"], "key": i["key"], "name": i["name"], "state": i["state"],
                   "system": i["system"], "jeopardy": i["jeopardy"],
                   "expected_duration_s": i["expected_duration_s"],
                   "started_at": iso(i["started_at"])} for i in row["items"]]}


@router.get("/jeopardy")
async def jeopardy(request: Request, level: Level = None, offset: Offset = 0,
                   limit: Limit = DEFAULT_LIMIT) -> JSONResponse:
    """The jeopardy queue: open orders that are YELLOW or RED, RED first, then the earliest
    due (the requested completion date, else the expected one), each with its late items."""
    rows, total = await asyncio.to_thread(use_cases.jeopardy_queue,
                                          request.app.state.container.store, level, offset, limit)
    return JSONResponse({"count": len(rows), "total": total, "offset": offset, "limit": limit,
                         "orders": [queue_entry(r) for r in rows]},
                        headers=count_headers(total, len(rows)))


@router.get("/service-levels")
async def service_levels(request: Request) -> dict:
    """Each product's lead time, and each scenario item's expected duration: configured in
    the catalog, learned from history (the 80th percentile once it has enough completions),
    and the one new orders are planned with (configured wins)."""
    c = request.app.state.container
    return await asyncio.to_thread(lambda: use_cases.service_levels(c.store, c.catalog.catalog,
                                                                    c.settings.learn_after_completions))
