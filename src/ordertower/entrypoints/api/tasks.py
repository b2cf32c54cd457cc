"""Manual work: GET /api/v1/tasks, GET /api/v1/tasks/{id}, POST /api/v1/tasks/{id}/claim|
complete|release|reassign, PUT /api/v1/tasks/{id}/due. Who claims and completes is the
caller's user (its API key), never a name in the body."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from ...domain.errors import Issue
from ...services import tasks as use_cases
from .common import json_object, text_field
from .openapi_document import json_body
from .params import id_path, text_query
from .problems import Problem
from .representations import iso
from .roles import caller

TaskId = id_path("The task's id.")
COMPLETE_BODY = {"type": "object", "properties": {"output": {"description": "the task's result"}}}
REASON_BODY = {"type": "object", "properties": {"reason": {"type": "string"}}}
REASSIGN_BODY = {"type": "object", "required": ["user"], "properties": {
    "user": {"type": "string", "minLength": 1}, "reason": {"type": "string"}}}
DUE_BODY = {"type": "object", "required": ["due_at"], "properties": {
    "due_at": {"type": ["string", "null"], "format": "date-time"}}}
# names that once said who acts: the caller's key says it now
NOT_IN_BODY = ("assignee", "by", "actor")

router = APIRouter(prefix="/api/v1", tags=["tasks"])


def show(task: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    due = task.get("due_at")
    open_ = task["state"] in ("open", "claimed")
    return {"id": task["id"], "name": task["name"], "kind": task.get("kind") or "item", "queue": task["queue"],
            "state": task["state"], "assignee": task["assignee"], "routed_by": task["routed_by"],
            "order": task["order_id"], "item": task["item_id"], "data": task["data"], "output": task["output"],
            "created_at": iso(task["created_at"]), "claimed_at": iso(task["claimed_at"]),
            "completed_at": iso(task["completed_at"]), "completed_by": task["completed_by"],
            "due_at": iso(due), "overdue": bool(open_ and due is not None and now is not None and now > due),
            "notes": task.get("notes") or []}


def _now(request: Request) -> datetime:
    return request.app.state.container.store.clock.now()


def _refuse_names(body: dict[str, Any]) -> None:
    named = [f for f in NOT_IN_BODY if f in body]
    if named:
        raise Problem(400, "bad-request", "Bad request",
                      "The task is claimed and completed by the caller's user (its API key), never by a "
                      "name in the body; an operator gives a task to someone with /reassign.",
                      [Issue(f, "not accepted: who acts is the caller's key") for f in named])


@router.get("/tasks")
def list_tasks(request: Request, queue: text_query("Only tasks of this work queue.") = None,
               state: text_query("Only tasks in this state (open, claimed, completed).") = None,
               assignee: text_query("Only tasks claimed by (or offered to) this person.") = None) -> list[dict]:
    now = _now(request)
    return [show(t, now) for t in use_cases.list_tasks(request.app.state.container.store, queue, state, assignee)]


@router.get("/tasks/{task_id}")
def get_task(task_id: TaskId, request: Request) -> dict:
    return show(use_cases.get_task(request.app.state.container.store, task_id), _now(request))


@router.post("/tasks/{task_id}/claim", openapi_extra=json_body(schema={"type": "object"}, required=False))
async def claim(task_id: TaskId, request: Request) -> dict:
    _refuse_names(await json_object(request, optional=True))
    task = await asyncio.to_thread(use_cases.claim_task, request.app.state.container.store, task_id,
                                   caller(request))
    return show(task, _now(request))


@router.post("/tasks/{task_id}/complete", openapi_extra=json_body(schema=COMPLETE_BODY, required=False))
async def complete(task_id: TaskId, request: Request) -> dict:
    body = await json_object(request, optional=True)
    _refuse_names(body)
    task = await asyncio.to_thread(use_cases.complete_task, request.app.state.container.store,
                                   task_id, caller(request), body.get("output"))
    return show(task, _now(request))


@router.post("/tasks/{task_id}/release", openapi_extra=json_body(schema=REASON_BODY, required=False))
async def release(task_id: TaskId, request: Request) -> dict:
    """Give a claimed task back to its queue: its claimer, or an operator."""
    body = await json_object(request, optional=True)
    task = await asyncio.to_thread(use_cases.release_task, request.app.state.container.store, task_id,
                                   caller(request), text_field(body, "reason"))
    return show(task, _now(request))


@router.post("/tasks/{task_id}/reassign", openapi_extra=json_body(schema=REASSIGN_BODY))
async def reassign(task_id: TaskId, request: Request) -> dict:
    """An operator gives the task to another user (a member of its queue, or an operator)."""
    body = await json_object(request)
    to = text_field(body, "user", required=True)
    task = await asyncio.to_thread(use_cases.reassign_task, request.app.state.container.store, task_id,
                                   caller(request), to, text_field(body, "reason"))
    return show(task, _now(request))


def _due(body: dict[str, Any]) -> datetime | None:
    if "due_at" not in body:
        raise Problem(400, "bad-request", "Bad request", "Send due_at (a date-time, or null to clear it).",
                      [Issue("due_at", "required")])
    raw = body["due_at"]
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None:
        raise Problem(400, "bad-request", "Bad request", "'due_at' is not a date-time.",
                      [Issue("due_at", "expected an ISO 8601 date-time, e.g. 2026-12-01T12:00:00Z")])
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.put("/tasks/{task_id}/due", openapi_extra=json_body(schema=DUE_BODY))
async def set_due(task_id: TaskId, request: Request) -> dict:
    """An operator sets a task's due time explicitly (null clears it)."""
    due = _due(await json_object(request))
    task = await asyncio.to_thread(use_cases.set_due, request.app.state.container.store, task_id,
                                   caller(request), due)
    return show(task, _now(request))
