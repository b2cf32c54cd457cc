"""Routing manual work: which queue a task goes to, and which member it is offered to."""

from __future__ import annotations

from typing import Any, Callable

from .catalog import Catalog, WorkQueue


def route_queue(declared_queue: str, catalog: Catalog, lookup: Callable[[str], Any]) -> tuple[str, str | None]:
    """The queue for a manual item: the first assignment rule (for its declared queue) whose
    condition holds, else the declared queue. Returns (queue, rule id or None)."""
    for rule in catalog.assignment_rules:
        if rule.applies_to and declared_queue not in rule.applies_to:
            continue
        if rule.condition.evaluate(lookup):
            return rule.queue, rule.id
    return declared_queue, None


def pick_member(queue: WorkQueue, open_tasks: dict[str, int], cursor: int) -> tuple[str | None, int]:
    """The member a new task is offered to, and the queue's next round-robin cursor.

    round-robin: members in turn; least-loaded: the member with the fewest open tasks (ties
    go to the first listed). A queue without members leaves the task for anyone to claim.
    """
    if not queue.members:
        return None, cursor
    if queue.strategy == "least-loaded":
        member = min(queue.members, key=lambda m: (open_tasks.get(m, 0), queue.members.index(m)))
        return member, cursor
    return queue.members[cursor % len(queue.members)], (cursor + 1) % len(queue.members)
