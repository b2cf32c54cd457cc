"""Manual work: GET /api/v1/tasks, POST /api/v1/tasks/{id}/claim|complete."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ...services import tasks as use_cases
from .common import json_object, text_field
from .representations import iso

router = APIRouter(prefix="/api/v1", tags=["tasks"])


def show(task: dict[str, Any]) -> dict[str, Any]:
    return {"id": task["id"], "name": task["name"], "queue": task["queue"], "state": task["state"],
            "assignee": task["assignee"], "routed_by": task["routed_by"], "order": task["order_id"],
            "item": task["item_id"], "data": task["data"], "output": task["output"],
            "created_at": iso(task["created_at"]), "claimed_at": iso(task["claimed_at"]),
            "completed_at": iso(task["completed_at"]), "completed_by": task["completed_by"]}


@router.get("/tasks")
def list_tasks(request: Request, queue: str | None = None, state: str | None = None,
               assignee: str | None = None) -> list[dict]:
    return [show(t) for t in use_cases.list_tasks(request.app.state.container.store, queue, state, assignee)]


@router.get("/tasks/{task_id}")
def get_task(task_id: str, request: Request) -> dict:
    return show(use_cases.get_task(request.app.state.container.store, task_id))


@router.post("/tasks/{task_id}/claim")
async def claim(task_id: str, request: Request) -> dict:
    body = await json_object(request)
    assignee = text_field(body, "assignee", required=True)
    task = await asyncio.to_thread(use_cases.claim_task, request.app.state.container.store, task_id, assignee)
    return show(task)


@router.post("/tasks/{task_id}/complete")
async def complete(task_id: str, request: Request) -> dict:
    body = await json_object(request)
    by = text_field(body, "by", required=True)
    task = await asyncio.to_thread(use_cases.complete_task, request.app.state.container.store,
                                   task_id, by, body.get("output"))
    return show(task)
