"""What running one plan item produced: one ``kind``, and what goes with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class OutcomeKind(StrEnum):
    DONE = "done"          # the work is done
    FAILED = "failed"      # it failed; ``retryable`` says whether another attempt may help
    ACCEPTED = "accepted"  # an asynchronous callout was accepted: the answer comes by callback
    TASK = "task"          # a manual item: a task for a person was made (``task``)
    WAIT = "wait"          # a wait item: its condition is evaluated when the outcome is recorded


@dataclass
class Outcome:
    kind: OutcomeKind
    retryable: bool = False
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    request: dict[str, Any] | None = None
    status_code: int | None = None
    response_excerpt: str | None = None
    duration_ms: int = 0
    retry_after: float | None = None
    assets: list[dict[str, Any]] = field(default_factory=list)
    task: dict[str, Any] | None = None  # TASK: queue, routed_by, name, data, members, strategy
    planned: Any = None  # plan-order: the lines and plan to store (plan_order.PlannedOrder)
    # the request could not be delivered (connection refused, reset): no reply was read
    transport_error: bool = False
    timed_out: bool = False  # a callout sent and not answered in time
    # a callout: its system's circuit breaker policy (domain.catalog.BreakerPolicy), which the
    # recorder applies (engine/breaker.py); None for other items
    breaker: Any = None

    @classmethod
    def done(cls, **details: Any) -> "Outcome":
        return cls(OutcomeKind.DONE, **details)

    @classmethod
    def milestone(cls, item: dict[str, Any]) -> "Outcome":
        """What reaching a milestone produces: done, its output naming the milestone."""
        return cls(OutcomeKind.DONE, output={"milestone": item["step_id"]})

    @classmethod
    def failed(cls, error: str, *, retryable: bool = False, **details: Any) -> "Outcome":
        return cls(OutcomeKind.FAILED, retryable=retryable, error=error, **details)

    @property
    def ok(self) -> bool:
        return self.kind is not OutcomeKind.FAILED

    @property
    def attempt_outcome(self) -> str:
        """How the attempt is recorded: ok, waiting, retryable or fatal."""
        if self.kind is OutcomeKind.DONE:
            return "ok"
        if self.ok:
            return "waiting"
        return "retryable" if self.retryable else "fatal"


def attempt_row(row: dict[str, Any], worker: str, outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The attempt of ``row`` (its ``attempts``-th) that produced ``outcome``, as stored."""
    return {"item_id": row["id"], "attempt": row["attempts"], "worker": worker,
            "started_at": now - timedelta(milliseconds=outcome.duration_ms),
            "duration_ms": outcome.duration_ms, "request": outcome.request,
            "status_code": outcome.status_code, "response_excerpt": outcome.response_excerpt,
            "outcome": outcome.attempt_outcome, "error": outcome.error}
