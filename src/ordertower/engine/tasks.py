"""Manual plan items become tasks in a work queue, offered to a member by its strategy (the
queue's members are data: ``queue_members``; a queue never seeded keeps its catalog list).

A task gets its due time from its item's expected duration. A task an earlier revision of the
order withdrew while someone held it is not handed silently to someone else: the new task is
claimed for that person again, with a note saying so. Withdrawing a task someone holds (or was
offered) notifies them: a ``TaskWithdrawnEvent`` on the event stream and a note on the task.
A cancellation that discards items in fallout makes a ``resolve-fallout`` task, so someone
checks the systems for half-done work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..domain.catalog import WorkQueue
from ..domain.ids import new_id
from ..domain.people import FALLOUT_QUEUE, note
from ..domain.routing import pick_member
from .actors import current_actor
from .ports import UnitOfWork


def create_task(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    queue = task["queue"]
    now = uow.clock.now()
    members = uow.people.members(queue)
    if members is None:  # never seeded (a queue the catalog gained since the last start)
        members = list(task.get("members") or [])
    assignee, state, claimed_at, notes = None, "open", None, []
    previous = uow.orchestration.last_task_of(row["order_id"], row["key"])
    if previous is not None and previous["state"] == "cancelled" and previous["claimed_at"] is not None \
            and previous["assignee"]:
        # the same step of an earlier revision, withdrawn while someone held it: theirs again
        assignee, state, claimed_at = previous["assignee"], "claimed", now
        notes.append(note(now, "engine", f"replaces task {previous['id']}, withdrawn by a revision "
                                         f"while {assignee} held it: claimed for {assignee} again"))
    elif members:
        wq = WorkQueue(id=queue, members=tuple(members), strategy=task.get("strategy", "round-robin"))
        cursor = uow.orchestration.next_cursor(queue)
        assignee, cursor = pick_member(wq, uow.orchestration.open_tasks_by_member(queue), cursor)
        uow.orchestration.save_cursor(queue, cursor)
    expected = row.get("expected_duration_s")
    created = {"id": new_id(), "item_id": row["id"], "order_id": row["order_id"], "queue": queue,
               "state": state, "assignee": assignee, "name": task.get("name") or row["name"],
               "data": task.get("data") or {}, "routed_by": task.get("routed_by"),
               "created_at": now, "claimed_at": claimed_at, "kind": "item",
               "due_at": now + timedelta(seconds=expected) if expected else None, "notes": notes}
    uow.orchestration.add_task(created)
    uow.events.add("TaskCreateEvent", {"task": created["id"], "queue": queue, "assignee": assignee,
                                       "state": state, "item": row["id"], "routed_by": task.get("routed_by"),
                                       "replaces": previous["id"] if claimed_at else None},
                   now, order_id=row["order_id"], item_id=row["id"])
    return created


def add_note(uow: UnitOfWork, task: dict[str, Any], text: str, by: str | None = None, **values: Any) -> list:
    """Append a note to the task (with any other column changes); returns the notes."""
    notes = list(task.get("notes") or []) + [note(uow.clock.now(), by or current_actor(), text)]
    uow.orchestration.update_task(task["id"], notes=notes, **values)
    return notes


def withdraw_task(uow: UnitOfWork, task: dict[str, Any], cause: str) -> None:
    """Cancel a task whose item a revision or a cancellation withdraws. Whoever held it (or was
    offered it) is told: a note on the task and a ``TaskWithdrawnEvent``."""
    holder = task["assignee"]
    if holder is None:
        uow.orchestration.update_task(task["id"], state="cancelled")
        return
    held = task["state"] == "claimed"
    text = f"withdrawn ({cause}) while {'claimed by' if held else 'offered to'} {holder}"
    add_note(uow, task, text, state="cancelled")
    uow.events.add("TaskWithdrawnEvent", {"task": task["id"], "queue": task["queue"], "assignee": holder,
                                          "claimed": held, "cause": cause, "name": task["name"],
                                          "actor": current_actor()},
                   uow.clock.now(), order_id=task["order_id"], item_id=task["item_id"])


def create_resolve_fallout_task(uow: UnitOfWork, order: dict[str, Any], discarded: list[dict[str, Any]],
                                cause: str) -> dict[str, Any]:
    """A task to check the systems of the items in fallout a cancellation discarded, for half-done
    work. Its queue and person are those the items were assigned to (the first that names
    one), else the ``fallout`` queue."""
    now = uow.clock.now()
    assigned = uow.fallout_work.assignments(r["id"] for r in discarded)
    queue = next((a["queue"] for a in assigned.values() if a["queue"]), None) or FALLOUT_QUEUE
    offered = next((a["user_name"] for a in assigned.values() if a["user_name"]), None)
    systems = sorted({r["system"] for r in discarded if r["system"]})
    created = {"id": new_id(), "item_id": discarded[0]["id"], "order_id": order["id"], "queue": queue,
               "state": "open", "assignee": offered, "kind": "resolve-fallout",
               "name": f"Resolve fallout of cancelled order {order['id']}"
                       + (f" ({', '.join(systems)})" if systems else ""),
               "data": {"order": order["id"], "external_id": order.get("external_id"),
                        "customer": order.get("customer_id"), "cause": cause,
                        "items": [{"id": r["id"], "key": r["key"], "name": r["name"], "system": r["system"],
                                   "error": r["last_error"], "attempts": r["attempts"]} for r in discarded]},
               "routed_by": None, "created_at": now, "notes": []}
    uow.orchestration.add_task(created)
    uow.events.add("TaskCreateEvent", {"task": created["id"], "queue": queue, "assignee": offered,
                                       "state": "open", "kind": "resolve-fallout",
                                       "items": [r["id"] for r in discarded]},
                   now, order_id=order["id"], item_id=discarded[0]["id"])
    return created
