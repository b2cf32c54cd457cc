"""Manual plan items become tasks in a work queue, offered to a member by its strategy."""

from __future__ import annotations

from typing import Any

from ..domain.ids import new_id
from ..domain.catalog import WorkQueue
from ..domain.routing import pick_member
from .ports import UnitOfWork

def create_task(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    queue = task["queue"]
    members = task.get("members") or []
    assignee = None
    if members:
        wq = WorkQueue(id=queue, members=tuple(members), strategy=task.get("strategy", "round-robin"))
        cursor = uow.orchestration.next_cursor(queue)
        assignee, cursor = pick_member(wq, uow.orchestration.open_tasks_by_member(queue), cursor)
        uow.orchestration.save_cursor(queue, cursor)
    created = {"id": new_id(), "item_id": row["id"], "order_id": row["order_id"], "queue": queue,
               "state": "open", "assignee": assignee, "name": task.get("name") or row["name"],
               "data": task.get("data") or {}, "routed_by": task.get("routed_by"),
               "created_at": uow.clock.now()}
    uow.orchestration.add_task(created)
    uow.events.add("TaskCreateEvent", {"task": created["id"], "queue": queue, "assignee": assignee,
                                       "item": row["id"], "routed_by": task.get("routed_by")},
                   uow.clock.now(), order_id=row["order_id"], item_id=row["id"])
    return created
