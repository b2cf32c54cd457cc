"""People: GET /api/v1/users, GET /api/v1/users/me, GET /api/v1/queues, POST
/api/v1/queues/{queue}/members, DELETE /api/v1/queues/{queue}/members/{user}."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ...services import people as use_cases
from .common import json_object
from .openapi_document import json_body
from .params import id_path
from .representations import iso
from .roles import actor_of, caller

router = APIRouter(prefix="/api/v1", tags=["people"])
QueueId = id_path("The work queue's id.")
UserName = id_path("The user's name.")
MEMBER_BODY = {"type": "object", "required": ["user"], "properties": {"user": {"type": "string", "minLength": 1}}}


def known_queues(request: Request) -> list[str]:
    """The queues people can belong to: the catalog's work queues, and ``fallout``."""
    # called on the event loop: the catalog in use, never a poll of the database there
    return use_cases.queue_ids(q.id for q in request.app.state.container.catalogs.in_use.catalog.work_queues)


def show_user(user: dict[str, Any]) -> dict[str, Any]:
    return {"name": user["name"], "role": user["role"], "queues": user["queues"],
            "created_at": iso(user["created_at"])}


@router.get("/users")
def list_users(request: Request) -> list[dict]:
    """Every user (the name of an API key not revoked), with role and queues."""
    return [show_user(u) for u in use_cases.list_users(request.app.state.container.store)]


@router.get("/users/me")
def me(request: Request) -> dict:
    """The caller's user: name, role, queues."""
    user = caller(request)
    with request.app.state.container.store.read() as uow:
        queues = uow.people.queues_of(user.name)
    return {"name": user.name, "role": user.role, "queues": queues,
            "works_every_queue": user.works_every_queue}


@router.get("/queues")
def list_queues(request: Request) -> list[dict]:
    """Every work queue and its members."""
    queues = use_cases.list_queues(request.app.state.container.store, known_queues(request))
    return [{"id": q["id"], "members": [m | {"added_at": iso(m["added_at"])} for m in q["members"]]}
            for q in queues]


@router.post("/queues/{queue}/members", status_code=201, openapi_extra=json_body(schema=MEMBER_BODY))
async def add_member(queue: QueueId, request: Request) -> dict:
    """Add a user to a queue: they may claim its tasks from their next request on."""
    body = await json_object(request)
    added = await asyncio.to_thread(use_cases.add_member, request.app.state.container.store, queue,
                                    body.get("user"), actor_of(request), known_queues(request))
    return added | {"added_at": iso(added["added_at"])}


@router.delete("/queues/{queue}/members/{user}")
async def remove_member(queue: QueueId, user: UserName, request: Request) -> dict:
    removed = await asyncio.to_thread(use_cases.remove_member, request.app.state.container.store, queue,
                                      user, actor_of(request), known_queues(request))
    return removed | {"removed_at": iso(removed["removed_at"])}
