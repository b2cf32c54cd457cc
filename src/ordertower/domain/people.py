"""People and the work they may take: the rules of claiming, completing, releasing and
reassigning manual tasks, and of assigning fallout. Pure: the caller says who acts (the user
of the API key, or of the console's session) and whether they belong to the task's queue.

- A user is named by their API key (``name``, ``role``; docs/security.md); their queues are
  data (``queue_members``, seeded from the catalog).
- Claim: a member of the task's queue claims an open task that is offered to nobody or to
  them; an ``operator`` (or ``admin``) may claim any open task, of any queue (they stand in
  for a team), and so take one offered to someone else.
- Complete: only the user holding the claim. Nobody completes a task someone else holds, an
  operator neither: they reassign it first (audited), so the record says who did the work.
  An open task is claimed and completed in one step by someone who may claim it.
- Release: the claimer, or an operator; the task is open again, offered to nobody.
- Reassign: an operator gives a task to a user who may work its queue (a member, or an
  operator); it is claimed on their behalf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import DomainError, Issue
from .roles import at_least

# who works every queue without being a member (team leads, the fallout desk)
WORKS_EVERY_QUEUE = "operator"
# the queue of the "resolve fallout" tasks a cancellation makes when no assignment names one
FALLOUT_QUEUE = "fallout"


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def works_every_queue(self) -> bool:
        return at_least(self.role, WORKS_EVERY_QUEUE)


class NotAllowed(DomainError):
    """The user may not do this to this task or item (403)."""

    def __init__(self, detail: str, location: str = "Authorization"):
        super().__init__(detail=detail, issues=[Issue(location, detail)], title="Forbidden",
                         kind="forbidden")


def may_work_queue(user: User, is_member: bool) -> bool:
    return is_member or user.works_every_queue


def check_claim(user: User, task: dict[str, Any], is_member: bool) -> None:
    """Refuse a claim of an open task the user may not take."""
    if not may_work_queue(user, is_member):
        raise NotAllowed(f"{user.name} is not a member of queue '{task['queue']}'; a member "
                         f"(or an operator) claims its tasks", "queue")
    offered = task.get("assignee")
    if offered not in (None, user.name) and not user.works_every_queue:
        raise NotAllowed(f"the task is offered to {offered}; taking it needs the role "
                         f"'{WORKS_EVERY_QUEUE}'", "assignee")


def check_complete(user: User, task: dict[str, Any], is_member: bool) -> None:
    """Refuse a completion by anyone but the holder of the claim (an open task: by someone
    who may claim it)."""
    if task["state"] == "claimed":
        if task["assignee"] != user.name:
            raise NotAllowed(f"the task is claimed by {task['assignee']}; only they complete it "
                             f"(an operator may reassign it)", "assignee")
        return
    check_claim(user, task, is_member)


def check_release(user: User, task: dict[str, Any]) -> None:
    if task["assignee"] != user.name and not user.works_every_queue:
        raise NotAllowed(f"the task is claimed by {task['assignee']}; only they (or an operator) "
                         f"release it", "assignee")


def check_assignable(target: User | None, name: str, queue: str, is_member: bool) -> None:
    """Refuse giving work of ``queue`` to a user who does not exist or may not work it."""
    if target is None:
        raise _bad_user(f"no user named '{name}' (a user is the name of an API key not revoked)")
    if not may_work_queue(target, is_member):
        raise _bad_user(f"{name} is not a member of queue '{queue}' (add them first)")


def _bad_user(detail: str) -> DomainError:
    return DomainError(detail=detail, issues=[Issue("user", detail)], title="Bad request",
                       kind="bad-request")


def note(at: Any, by: str, text: str) -> dict[str, Any]:
    """One line of a task's notes (what happened to it, and who did it)."""
    return {"at": at.isoformat() if hasattr(at, "isoformat") else at, "by": by, "text": text}
