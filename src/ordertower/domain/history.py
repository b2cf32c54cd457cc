"""An order's history (pure): one timeline of its events (every transition, callback,
operator action, task and revision) and its items' attempts, each entry naming who did it.

``actor`` is who caused the entry: an API key's name (who placed or amended the order, an
operator acting on fallout, a task's assignee), a worker (claims and attempts), a fulfillment
system (its callbacks), ``ordertower`` for what the engine decided on its own (dependencies
done, a lease expired, the order completed), or ``client`` for a TMF client's request that
recorded no name (access control off)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Callable

ENGINE = "ordertower"
CLIENT = "client"

# causes written by the engine and the use cases that name who acted
_CAUSES = [
    re.compile(r"^claimed by (?P<actor>\S+)$"),
    re.compile(r"^(?:retry|skip|complete|cancel) by (?P<actor>[^:]+?)(?::.*)?$"),
    re.compile(r"^task completed by (?P<actor>.+)$"),
    re.compile(r"^system \S+ (?:offline|online) \((?P<actor>[^()]+)\)$"),
    re.compile(r"^(?:order cancelled: )?cancelled from fallout by (?P<actor>[^:]+?)(?::.*)?$"),
]
# an operator's cancellation (POST /api/v1/orders/{id}/cancel): "reason (actor)"
_NAMED_AT_END = re.compile(r"\((?P<actor>[^()]+)\)$")
_CANCELLING = ("assessingCancellation", "pendingCancellation")


def actor_of(event_type: str, payload: dict[str, Any], system: str | None = None,
             revision_actor: Callable[[int], str | None] = lambda _n: None) -> str:
    payload = payload or {}
    if isinstance(payload.get("actor"), str) and payload["actor"]:
        return payload["actor"]
    if event_type == "TaskClaimEvent" and payload.get("assignee"):
        return payload["assignee"]
    if event_type == "ProductOrderRevisionEvent" and isinstance(payload.get("revision"), int):
        return revision_actor(payload["revision"]) or CLIENT
    if event_type in ("ProductOrderCreateEvent", "CancelProductOrderCreateEvent"):
        return CLIENT
    if event_type == "PlanItemProgressEvent":
        return system or ENGINE
    cause = payload.get("cause")
    if isinstance(cause, str):
        if cause.startswith("callback:") and system:
            return system
        for pattern in _CAUSES:
            found = pattern.match(cause)
            if found:
                return found.group("actor").strip()
        if event_type == "ProductOrderStateChangeEvent" and payload.get("to") in _CANCELLING:
            found = _NAMED_AT_END.search(cause)
            if found:
                return found.group("actor").strip()
    return ENGINE


def attempt_entry(attempt: dict[str, Any], key: str | None) -> dict[str, Any]:
    """An attempt of a plan item, as a history entry (at its end: when it was recorded)."""
    return {"id": f"attempt:{attempt['item_id']}:{attempt['attempt']}", "type": "PlanItemAttempt",
            "item": attempt["item_id"], "key": key, "attempt": attempt["attempt"],
            "status_code": attempt["status_code"], "outcome": attempt["outcome"],
            "duration_ms": attempt["duration_ms"], "error": attempt["error"],
            "actor": attempt["worker"] or ENGINE}


def attempt_end(attempt: dict[str, Any]) -> datetime:
    return attempt["started_at"] + timedelta(milliseconds=attempt["duration_ms"] or 0)


def merge(events: list[tuple[datetime, dict[str, Any]]],
          attempts: list[tuple[datetime, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Events in outbox order; each attempt just before the transition that recorded its
    outcome (its item leaving ``running`` at that attempt), or, when there is none (an attempt
    cut short), before the first event recorded after the attempt ended."""
    outcome_at: dict[tuple[Any, Any], int] = {}
    for n, (_, e) in enumerate(events):
        if e.get("type") == "PlanItemStateChangeEvent" and e.get("from") == "running":
            outcome_at.setdefault((e.get("item"), e.get("attempts")), n)
    before: dict[int, list[dict[str, Any]]] = {}
    loose = []
    for end, a in sorted(attempts, key=lambda pair: pair[0]):
        n = outcome_at.get((a["item"], a["attempt"]))
        if n is None:
            loose.append((end, a))
        else:
            before.setdefault(n, []).append(a)
    out: list[dict[str, Any]] = []
    i = 0
    for n, (at, entry) in enumerate(events):
        while i < len(loose) and loose[i][0] <= at:
            out.append(loose[i][1])
            i += 1
        out.extend(before.get(n, []))
        out.append(entry)
    out.extend(entry for _, entry in loose[i:])
    return out
