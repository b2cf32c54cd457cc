"""The Work queues page: manual tasks with filters (queue, assignee, state), claim, and a
task's page with its completion form, built from the fields its scenario item declares
(types, required fields); a refused completion shows each field's error from the problem.
Updates live from the event stream.

Who acts is the session's user (the key that logged in). The rules are the API's
(``domain/people.py``): an ``agent`` claims a task of a queue it belongs to that is unassigned
or offered to it, and completes the tasks it holds; an ``operator`` claims in any queue and
takes a task offered to someone else. Actions are the task use cases the API calls
(``services/tasks.py``), which enforce the rules; the page only hides buttons that would be
refused.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request

from ...domain.errors import DomainError, Issue
from ...domain.people import NotAllowed, User, check_claim
from ...domain.roles import at_least
from ...services import tasks as use_cases
from ...services.errors import BadInput
from ..api.problems import Problem
from ..api.roles import require_role
from .live import position
from .session import ConsoleSession, checked_post, console_session
from .templating import back, problem_page, render

router = APIRouter(prefix="/console", include_in_schema=False)
FILTERS = ("queue", "assignee", "state")
TASK_STATES = ("open", "claimed", "completed", "cancelled", "expired")
INPUT_TYPES = {"integer": "number", "decimal": "text", "date": "date", "string": "text"}


def _filters(request: Request) -> dict[str, str]:
    given = {k: (request.query_params.get(k) or "").strip() for k in FILTERS}
    return {k: v for k, v in given.items() if v}


def _list(request: Request, given: dict[str, str]) -> list[dict[str, Any]]:
    state = given.get("state")
    if state and state not in TASK_STATES:
        raise Problem(400, "bad-request", "Bad filter", f"Unknown task state {state!r}.",
                      [Issue("state", f"expected one of {', '.join(TASK_STATES)}")])
    return use_cases.list_tasks(request.app.state.container.store, given.get("queue"), state,
                                given.get("assignee"))


def _queues(request: Request) -> list[str]:
    return [q.id for q in request.app.state.container.catalogs.in_use.catalog.work_queues]  # on the loop


def _user(session: ConsoleSession) -> User:
    return User(session.actor, session.role)


def _my_queues(request: Request, session: ConsoleSession) -> set[str]:
    with request.app.state.container.store.read() as uow:
        return set(uow.people.queues_of(session.actor))


def may_claim(session: ConsoleSession, task: dict[str, Any], queues: set[str] | None = None) -> bool:
    if task["state"] != "open" or not at_least(session.role, "agent"):
        return False
    try:
        check_claim(_user(session), task, task["queue"] in (queues or set()))
    except NotAllowed:
        return False
    return True


def _claim_check(session: ConsoleSession, queues: set[str]):
    return lambda s, t: may_claim(s, t, queues)


def may_complete(session: ConsoleSession, task: dict[str, Any]) -> bool:
    return (task["state"] == "claimed" and task["assignee"] == session.actor
            and at_least(session.role, "agent"))


@router.get("/tasks")
async def tasks_page(request: Request, session: ConsoleSession = Depends(console_session)):
    given = _filters(request)
    after = await position(request)  # before the data: no event between them is missed
    try:
        rows, error = await asyncio.to_thread(_list, request, given), None
    except Problem as exc:
        rows, error = [], exc
    mine = await asyncio.to_thread(_my_queues, request, session)
    return render(request, "work_queues.html", session, status=400 if error else 200, tasks=rows,
                  after=after, given=given, query=urlencode(given), error=error, queues=_queues(request),
                  states=TASK_STATES, may_claim=_claim_check(session, mine), may_complete=may_complete)


@router.get("/tasks/rows")
async def task_rows(request: Request, session: ConsoleSession = Depends(console_session)):
    """The list's rows (the live refresh)."""
    rows = await asyncio.to_thread(_list, request, _filters(request))
    mine = await asyncio.to_thread(_my_queues, request, session)
    return render(request, "work_queues_rows.html", session, tasks=rows, may_claim=_claim_check(session, mine),
                  may_complete=may_complete)


async def _task_page(request: Request, session: ConsoleSession, task: dict[str, Any], *, status: int = 200,
               values: dict[str, str] | None = None, error: DomainError | None = None):
    fields = task["data"].get("fields") or []
    field_errors = {}
    if error is not None:
        for issue in error.issues:
            field_errors[issue.location.removeprefix("output.")] = issue.message
    mine = await asyncio.to_thread(_my_queues, request, session)
    return render(request, "work_queues_task.html", session, status=status, task=task, fields=fields,
                  values=values or {}, error=error, field_errors=field_errors, input_types=INPUT_TYPES,
                  can_claim=may_claim(session, task, mine), can_complete=may_complete(session, task))


@router.get("/tasks/{task_id}")
async def task_page(task_id: str, request: Request, session: ConsoleSession = Depends(console_session)):
    try:
        task = await asyncio.to_thread(use_cases.get_task, request.app.state.container.store, task_id)
    except DomainError as exc:
        return problem_page(request, session, exc, back_to="/console/tasks")
    return await _task_page(request, session, task)


@router.post("/tasks/{task_id}/claim")
async def claim(task_id: str, request: Request, session: ConsoleSession = Depends(checked_post)):
    store = request.app.state.container.store
    page = f"/console/tasks/{task_id}"
    try:
        require_role(request, "agent", "Claiming a task")
        await asyncio.to_thread(use_cases.claim_task, store, task_id, _user(session))
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=page)
    return back(page)


@router.post("/tasks/{task_id}/complete")
async def complete(task_id: str, request: Request, session: ConsoleSession = Depends(checked_post)):
    """The form's fields ``field.<name>`` are the task's output (blank: not given); the use
    case checks them against the declared fields."""
    store = request.app.state.container.store
    page = f"/console/tasks/{task_id}"
    form = await request.form()
    values = {k.removeprefix("field."): str(v) for k, v in form.items() if k.startswith("field.")}
    try:
        task = await asyncio.to_thread(use_cases.get_task, store, task_id)
        require_role(request, "agent", "Completing a task")
    except (DomainError, Problem) as exc:
        return problem_page(request, session, exc, back_to=page)
    output = {k: v for k, v in values.items() if v.strip()}
    try:
        await asyncio.to_thread(use_cases.complete_task, store, task_id, _user(session), output)
    except BadInput as exc:  # the fields' errors, beside each field
        return await _task_page(request, session, task, status=400, values=values, error=exc)
    except DomainError as exc:
        return problem_page(request, session, exc, back_to=page)
    return back(f"/console/orders/{task['order_id']}")
