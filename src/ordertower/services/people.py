"""Use cases of people: users (the names of API keys not revoked, with their role and queues)
and work queue membership (data: seeded from the catalog at start, then added and removed
through the API and CLI, effective at once on every node). Changes are audited."""

from __future__ import annotations

from typing import Any, Iterable

from ..domain.catalog import WorkQueue
from ..domain.errors import Issue, NotFound
from ..domain.people import FALLOUT_QUEUE
from ..engine.conflicts import retrying
from ..engine.ports import Store
from .errors import BadInput, Conflict


def seed_queue_members(store: Store, queues: Iterable[WorkQueue]) -> int:
    """Add the catalog's queue members never seen before (one removed stays removed).
    Returns how many were added."""
    with store.uow() as uow:
        now = uow.clock.now()
        added = sum(uow.people.seed_members(q.id, q.members, now) for q in queues)
        uow.commit()
        return added


def list_users(store: Store) -> list[dict[str, Any]]:
    with store.read() as uow:
        return uow.people.users()


def get_user(store: Store, name: str) -> dict[str, Any]:
    with store.read() as uow:
        user = uow.people.user(name)
    if user is None:
        raise NotFound("user", name)
    return user


def queue_ids(catalog_queues: Iterable[str]) -> list[str]:
    """The queues people can belong to: the catalog's, and the fallout desk's."""
    return list(dict.fromkeys([*catalog_queues, FALLOUT_QUEUE]))


def list_queues(store: Store, known: list[str]) -> list[dict[str, Any]]:
    """Every known queue with its members (and where each membership came from)."""
    with store.read() as uow:
        rows = uow.people.memberships()
    by_queue: dict[str, list[dict[str, Any]]] = {q: [] for q in known}
    for r in rows:
        by_queue.setdefault(r["queue"], []).append(
            {"user": r["member"], "source": r["source"], "added_by": r["added_by"], "added_at": r["added_at"]})
    return [{"id": q, "members": members} for q, members in by_queue.items()]


def _check_queue(queue: str, known: list[str]) -> None:
    if queue not in known:
        raise NotFound("work queue", queue)


@retrying
def add_member(store: Store, queue: str, name: Any, actor: str, known: list[str]) -> dict[str, Any]:
    """Make a user a member of a queue: they may claim its tasks from their next request on."""
    _check_queue(queue, known)
    if not isinstance(name, str) or not name.strip():
        raise BadInput([Issue("user", "expected the user's name")])
    with store.uow() as uow:
        if uow.people.user(name) is None:
            raise BadInput([Issue("user", f"no user named '{name}' (a user is the name of an API key "
                                          "not revoked)")])
        now = uow.clock.now()
        if not uow.people.add_member(queue, name, actor, now):
            raise Conflict(f"{name} is already a member of queue '{queue}'", "user")
        uow.events.add("QueueMemberAddEvent", {"queue": queue, "user": name, "actor": actor}, now)
        uow.commit()
    return {"queue": queue, "user": name, "added_by": actor, "added_at": now}


@retrying
def remove_member(store: Store, queue: str, name: str, actor: str, known: list[str]) -> dict[str, Any]:
    """Take a user out of a queue. Tasks they hold stay theirs (release or reassign them)."""
    _check_queue(queue, known)
    with store.uow() as uow:
        now = uow.clock.now()
        if not uow.people.remove_member(queue, name, now):
            raise NotFound(f"member of queue '{queue}'", name)
        uow.events.add("QueueMemberRemoveEvent", {"queue": queue, "user": name, "actor": actor}, now)
        uow.commit()
    return {"queue": queue, "user": name, "removed_by": actor, "removed_at": now}
