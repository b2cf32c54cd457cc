"""Use cases of manual work: list, claim and complete tasks."""

from __future__ import annotations

from typing import Any

from ..engine.conflicts import retrying
from ..domain.errors import Issue, NotFound
from ..domain.lifecycle import ItemState
from ..engine import items, locks
from .errors import BadInput, Conflict
from ..engine.ports import Store


def list_tasks(store: Store, queue: str | None = None, state: str | None = None,
               assignee: str | None = None) -> list[dict[str, Any]]:
    with store.read() as uow:
        return uow.orchestration.list_tasks(queue, state, assignee)


def get_task(store: Store, task_id: str) -> dict[str, Any]:
    with store.read() as uow:
        task = uow.orchestration.task(task_id)
    if task is None:
        raise NotFound("task", task_id)
    return task


@retrying
def claim_task(store: Store, task_id: str, assignee: str) -> dict[str, Any]:
    if not assignee:
        raise BadInput([Issue("assignee", "who claims the task")])
    with store.uow() as uow:
        peek = uow.orchestration.task(task_id)
        if peek is None:
            raise NotFound("task", task_id)
        locks.lock(uow, peek["order_id"])  # the lock order: order, (items,) then the task
        task = uow.orchestration.task(task_id, for_update=True)
        if task["state"] == "claimed" and task["assignee"] == assignee:
            return task  # a double click acts once
        if task["state"] != "open":
            raise Conflict(f"task is {task['state']}"
                           + (f" by {task['assignee']}" if task["state"] == "claimed" else ""))
        now = uow.clock.now()
        uow.orchestration.update_task(task_id, "open", state="claimed", assignee=assignee, claimed_at=now)
        uow.events.add("TaskClaimEvent", {"task": task_id, "assignee": assignee}, now,
                       order_id=task["order_id"], item_id=task["item_id"])
        uow.commit()
        return task | {"state": "claimed", "assignee": assignee, "claimed_at": now}


@retrying
def complete_task(store: Store, task_id: str, by: str, output: Any) -> dict[str, Any]:
    if output is not None and not isinstance(output, dict):
        raise BadInput([Issue("output", "expected a JSON object")])
    if not by:
        raise BadInput([Issue("by", "who completes the task")])
    with store.uow() as uow:
        peek = uow.orchestration.task(task_id)
        if peek is None:
            raise NotFound("task", task_id)
        order, item = locks.lock(uow, peek["order_id"], peek["item_id"])  # order, item, task
        task = uow.orchestration.task(task_id, for_update=True)
        if task["state"] == "completed" and task["completed_by"] == by:
            return task  # a double click acts once
        if task["state"] == "claimed" and task["assignee"] != by:
            raise Conflict(f"task is claimed by {task['assignee']}", "by")
        if task["state"] not in ("open", "claimed"):
            raise Conflict(f"task is {task['state']}")
        if item["state"] != ItemState.WAITING:
            raise Conflict(f"its plan item is {item['state']}, not waiting for this task")
        now = uow.clock.now()
        uow.orchestration.update_task(task_id, task["state"], state="completed", output=output or {},
                                      completed_at=now, completed_by=by, assignee=task["assignee"] or by)
        items.complete(uow, item, order, output or {}, f"task completed by {by}")
        uow.commit()
        return task | {"state": "completed", "output": output or {}, "completed_by": by,
                       "completed_at": now}
