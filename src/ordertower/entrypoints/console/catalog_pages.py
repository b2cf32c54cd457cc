"""The Catalog page: the deployed catalog's products, technical products, rules, scenarios,
systems and work queues; and the explorer: paste an order (TMF622 JSON) and see its
decomposition tree and the plan it would build, drawn with Mermaid, exactly as
``ordertower catalog explain`` and ``POST /api/v1/catalog/explain`` show it (the same use
case, ``services/explain_order.py``, against the customer's installed base). Nothing is
stored, so any logged-in role may explore."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request

from ...domain.errors import DomainError, Issue
from ...services.explain_order import explain_order
from ..api.problems import STATUS_BY_KIND, Problem
from ..api.tmf622 import command_from
from .diagrams import flowchart
from .session import ConsoleSession, checked_post, console_session
from .templating import render

router = APIRouter(prefix="/console", include_in_schema=False)
EXAMPLE = Path(__file__).resolve().parents[4] / "examples" / "phone-and-plan.json"
MAX_EXPLORER_BYTES = 2 * 1024 * 1024


def _example() -> str:
    try:
        return EXAMPLE.read_text(encoding="utf-8")
    except OSError:  # an installed package has no examples folder
        return ""


@router.get("/catalog")
async def catalog_page(request: Request, session: ConsoleSession = Depends(console_session)):
    loaded = request.app.state.container.catalogs.in_use  # on the loop: never a poll
    return render(request, "catalog.html", session, catalog=loaded.catalog, version=loaded.version)


@router.get("/catalog/explorer")
async def explorer_page(request: Request, session: ConsoleSession = Depends(console_session)):
    return render(request, "catalog_explorer.html", session, text=_example(), explanation=None,
                  graph=None, error=None, version=request.app.state.container.catalogs.in_use.version)


def plan_graph(plan_items: list[dict[str, Any]]) -> str:
    """The plan the order would build, as console-1's plan flowchart draws a stored plan
    (``skipped`` for items whose condition is false, ``pending`` for the rest)."""
    return flowchart([{"key": p["key"], "name": p["name"], "ponr": p["ponr"], "system": p["system"],
                       "state": "skipped" if p.get("skipped") else "pending",
                       "depends_on": p["depends_on"]} for p in plan_items])


@router.post("/catalog/explorer")
async def explore(request: Request, session: ConsoleSession = Depends(checked_post)):
    c = request.app.state.container
    form = await request.form()
    text = str(form.get("order") or "")
    explanation, error = None, None
    try:
        if len(text.encode()) > MAX_EXPLORER_BYTES:
            raise Problem(413, "payload-too-large", "Payload too large", "Paste an order of at most 2 MiB.",
                          [Issue("order", "at most 2 MiB")])
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise Problem(400, "bad-request", "Malformed JSON", f"The order is not JSON: {exc}.",
                          [Issue("order", f"not JSON: {exc}")]) from None
        cmd = command_from(body)
        explanation = (await asyncio.to_thread(lambda: explain_order(cmd, c.catalog, c.store))).as_dict()
    except (DomainError, Problem) as exc:
        error = exc
    status = 200
    if error is not None:
        status = error.status if isinstance(error, Problem) else STATUS_BY_KIND.get(error.kind, 422)
    graph = plan_graph(explanation["plan"]["items"]) if explanation and explanation["plan"]["items"] else None
    return render(request, "catalog_explorer.html", session, status=status, text=text,
                  explanation=explanation, graph=graph, error=error, version=c.catalogs.in_use.version)
