"""The Systems page: each fulfillment system's status (online, or offline with who, when and
why), its items by state, its throughput and error rate over the last hour (callout attempts
in the store, counted by one indexed query), and take offline / bring online. Updates live
from the event stream.

Taking a system offline or online is the use case the API calls (``services/systems.py``)
and needs the role ``operator``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request

from ...domain.errors import DomainError
from ...domain.roles import at_least
from ...services import console_queries
from ...services import systems as use_cases
from ..api.problems import Problem
from ..api.roles import require_role
from .live import position
from .session import ConsoleSession, checked_post, console_session
from .templating import back, problem_page, render

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN_STATES = ("ready", "running", "waiting", "retrying", "onHold", "fallout")


def _systems(request: Request) -> list[dict[str, Any]]:
    c = request.app.state.container
    systems = use_cases.list_systems(c.store, c.catalog.catalog)
    activity = console_queries.system_activity(c.store, [s["id"] for s in systems])
    return [s | {"activity": activity[s["id"]]} for s in systems]


@router.get("/systems")
async def systems_page(request: Request, session: ConsoleSession = Depends(console_session)):
    after = await position(request)  # before the data: no event between them is missed
    rows = await asyncio.to_thread(_systems, request)
    return render(request, "systems.html", session, systems=rows, after=after, shown_states=SHOWN_STATES,
                  can_act=at_least(session.role, "operator"))


@router.get("/systems/rows")
async def system_rows(request: Request, session: ConsoleSession = Depends(console_session)):
    """The table's rows (the live refresh)."""
    rows = await asyncio.to_thread(_systems, request)
    return render(request, "systems_rows.html", session, systems=rows, shown_states=SHOWN_STATES,
                  can_act=at_least(session.role, "operator"))


@router.post("/systems/{name}/{change}")
async def set_state(name: str, change: Literal["offline", "online"], request: Request,
                    session: ConsoleSession = Depends(checked_post)):
    c = request.app.state.container
    form = await request.form()
    reason = str(form.get("reason") or "").strip() or None
    try:
        require_role(request, "operator", f"Taking a system {change}")
        await asyncio.to_thread(lambda: use_cases.set_offline(c.store, c.catalog.catalog, name,
                                                              change == "offline", session.actor, reason))
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to="/console/systems")
    return back("/console/systems")
