"""Use cases of manual work: list, claim, complete, release and reassign tasks, and set a
task's due time. Who acts is the authenticated user (``domain/people.User``: the API key's,
or the console session's), never a name in a request body; domain/people.py holds the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain.errors import Issue, NotFound
from ..domain.lifecycle import ItemState
from ..domain.people import User, check_assignable, check_claim, check_complete, check_release
from ..domain.task_forms import check_task_output
from ..engine import items, locks
from ..engine.conflicts import retrying
from ..engine.ports import Store, UnitOfWork
from ..engine.tasks import add_note
from .errors import BadInput, Conflict


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


def _locked(uow: UnitOfWork, task_id: str) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    """The task, locked in the one lock order: its order, its item, then the task."""
    peek = uow.orchestration.task(task_id)
    if peek is None:
        raise NotFound("task", task_id)
    order, item = locks.lock(uow, peek["order_id"], peek["item_id"])
    return order, item, uow.orchestration.task(task_id, for_update=True)


def _event(uow: UnitOfWork, event_type: str, task: dict[str, Any], actor: str, **payload: Any) -> None:
    """The task's event, naming who acted (the audit log, the order's history)."""
    uow.events.add(event_type, {"task": task["id"], "queue": task["queue"], "actor": actor, **payload},
                   uow.clock.now(),
                   order_id=task["order_id"], item_id=task["item_id"])


@retrying
def claim_task(store: Store, task_id: str, user: User) -> dict[str, Any]:
    with store.uow() as uow:
        _, _, task = _locked(uow, task_id)
        if task["state"] == "claimed" and task["assignee"] == user.name:
            return task  # a double click acts once
        if task["state"] != "open":
            raise Conflict(f"task is {task['state']}"
                           + (f" by {task['assignee']}" if task["state"] == "claimed" else ""))
        check_claim(user, task, uow.people.is_member(task["queue"], user.name))
        now = uow.clock.now()
        uow.orchestration.update_task(task_id, "open", state="claimed", assignee=user.name, claimed_at=now)
        _event(uow, "TaskClaimEvent", task, user.name, assignee=user.name)
        uow.commit()
        return task | {"state": "claimed", "assignee": user.name, "claimed_at": now}


@retrying
def complete_task(store: Store, task_id: str, user: User, output: Any) -> dict[str, Any]:
    if output is not None and not isinstance(output, dict):
        raise BadInput([Issue("output", "expected a JSON object")])
    with store.uow() as uow:
        order, item, task = _locked(uow, task_id)
        if task["state"] == "completed" and task["completed_by"] == user.name:
            return task  # a double click acts once
        if task["state"] not in ("open", "claimed"):
            raise Conflict(f"task is {task['state']}")
        check_complete(user, task, uow.people.is_member(task["queue"], user.name))
        resolving = task["kind"] == "resolve-fallout"  # ends the task only: no plan item waits on it
        if not resolving and item["state"] != ItemState.WAITING:
            raise Conflict(f"its plan item is {item['state']}, not waiting for this task")
        if not resolving:
            output, issues = check_task_output(item["spec"].fields or (), output or {})
            if issues:
                raise BadInput(issues, "The task's output does not fit its fields.")
        now = uow.clock.now()
        uow.orchestration.update_task(task_id, task["state"], state="completed", output=output or {},
                                      completed_at=now, completed_by=user.name, assignee=user.name,
                                      claimed_at=task["claimed_at"] or now)
        _event(uow, "TaskCompleteEvent", task, user.name, kind=task["kind"])
        if not resolving:
            items.complete(uow, item, order, output or {}, f"task completed by {user.name}")
        uow.commit()
        return task | {"state": "completed", "output": output or {}, "completed_by": user.name,
                       "assignee": user.name, "completed_at": now}


@retrying
def release_task(store: Store, task_id: str, user: User, reason: str | None = None) -> dict[str, Any]:
    """Give a claimed task back to its queue (open, offered to nobody): its claimer, or an operator."""
    with store.uow() as uow:
        _, _, task = _locked(uow, task_id)
        if task["state"] != "claimed":
            raise Conflict(f"task is {task['state']}, not claimed")
        check_release(user, task)
        text = f"released by {user.name} (was claimed by {task['assignee']})" + (f": {reason}" if reason else "")
        notes = add_note(uow, task, text, user.name, state="open", assignee=None, claimed_at=None)
        _event(uow, "TaskReleaseEvent", task, user.name, previous=task["assignee"], reason=reason)
        uow.commit()
        return task | {"state": "open", "assignee": None, "claimed_at": None, "notes": notes}


@retrying
def reassign_task(store: Store, task_id: str, user: User, to: str, reason: str | None = None) -> dict[str, Any]:
    """An operator gives an open or claimed task to another user, who holds it from now on."""
    if not isinstance(to, str) or not to.strip():
        raise BadInput([Issue("user", "who the task is given to")])
    with store.uow() as uow:
        _, _, task = _locked(uow, task_id)
        if task["state"] not in ("open", "claimed"):
            raise Conflict(f"task is {task['state']}")
        found = uow.people.user(to)
        target = User(found["name"], found["role"]) if found else None
        check_assignable(target, to, task["queue"], uow.people.is_member(task["queue"], to))
        if task["state"] == "claimed" and task["assignee"] == to:
            return task
        now = uow.clock.now()
        was = task["assignee"] if task["state"] == "claimed" else None
        text = (f"reassigned by {user.name} from {was} to {to}" if was else
                f"assigned to {to} by {user.name}") + (f": {reason}" if reason else "")
        notes = add_note(uow, task, text, user.name, state="claimed", assignee=to, claimed_at=now)
        _event(uow, "TaskReassignEvent", task, user.name, previous=was, assignee=to, reason=reason)
        uow.commit()
        return task | {"state": "claimed", "assignee": to, "claimed_at": now, "notes": notes}


@retrying
def set_due(store: Store, task_id: str, user: User, due_at: datetime | None) -> dict[str, Any]:
    """An operator sets (or clears) a task's due time explicitly."""
    with store.uow() as uow:
        _, _, task = _locked(uow, task_id)
        if task["state"] not in ("open", "claimed"):
            raise Conflict(f"task is {task['state']}")
        text = f"due {due_at.isoformat() if due_at else 'time cleared'} (set by {user.name})"
        notes = add_note(uow, task, text, user.name, due_at=due_at)
        _event(uow, "TaskDueEvent", task, user.name, due_at=due_at.isoformat() if due_at else None)
        uow.commit()
        return task | {"due_at": due_at, "notes": notes}
