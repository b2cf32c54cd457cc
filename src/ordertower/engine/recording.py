"""Recording the outcome of one attempt, in one transaction: the attempt, the item's new
state (completed, retrying, fallout, or waiting for a callback, a person or a condition), and
everything that follows from it (items.complete / items.fail)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from . import breaker
from .conflicts import retrying
from ..domain.lifecycle import ItemState
from .items import complete, fail
from .leases import LEASE_FREE
from .locks import lock
from .outcomes import Outcome, OutcomeKind
from .plan_order import record_plan
from .tasks import create_task
from .timers import check_wait
from .transitions import transition_item
from .ports import Store, UnitOfWork

log = structlog.get_logger("ordertower.engine")

@retrying
def record(store: Store, worker: str, item: dict[str, Any], outcome: Outcome) -> str | None:
    """Write the outcome of one attempt. Returns the item's new state, or None when this
    worker no longer holds the item (its lease expired and another worker took it over)."""
    with store.uow() as uow:
        now = uow.clock.now()
        order, row = lock(uow, item["order_id"], item["id"])
        if row is None or row["state"] != ItemState.RUNNING or row["lease_owner"] != worker \
                or row["attempts"] != item["attempts"]:
            log.warning("outcome discarded: lease lost", order_id=item["order_id"], item_id=item["id"], worker=worker)
            return None
        uow.plan.add_attempt({
            "item_id": row["id"], "attempt": row["attempts"], "worker": worker,
            "started_at": now - timedelta(milliseconds=outcome.duration_ms),
            "duration_ms": outcome.duration_ms, "request": outcome.request,
            "status_code": outcome.status_code, "response_excerpt": outcome.response_excerpt,
            "outcome": outcome.attempt_outcome,
            "error": outcome.error})
        # --- circuit breaker hook (engine/breaker.py): the attempt counts for or against its
        # system's breaker; a transport failure that trips it (or comes while it is open)
        # holds the item, its attempt not charged
        if breaker.after_attempt(uow, row, order, outcome) is not None:
            uow.commit()
            return ItemState.ON_HOLD
        # --- end of the circuit breaker hook
        if outcome.kind is OutcomeKind.FAILED:
            state = fail(uow, row, order, outcome.error or "failed", outcome.retryable,
                         outcome.retry_after)
        elif outcome.kind is OutcomeKind.DONE:
            if outcome.planned is not None:
                record_plan(uow, row, order, outcome.planned)
            state = complete(uow, row, order, outcome.output, "done", assets=outcome.assets)
        else:
            state = _start_waiting(uow, row, order, outcome)
        uow.commit()
        return state


def _start_waiting(uow: UnitOfWork, row, order, outcome: Outcome) -> str:
    now = uow.clock.now()
    timeout = row["spec"].timeout_s
    deadline = now + timedelta(seconds=timeout) if timeout else None
    if outcome.kind is OutcomeKind.WAIT:
        return check_wait(uow, row | {"state": ItemState.RUNNING}, order, first=True)
    if outcome.kind is OutcomeKind.TASK:
        task = create_task(uow, row, order, outcome.task)
        transition_item(uow, row, ItemState.WAITING,
                        f"task {task['id']} in queue {task['queue']}"
                        + (f" offered to {task['assignee']}" if task["assignee"] else ""),
                        deadline_at=deadline, output=outcome.output or None, **LEASE_FREE)
        return ItemState.WAITING
    # an asynchronous callout: the system accepted; the final answer comes by callback
    token = uow.orchestration.token_for(row["id"], row["attempts"])
    if token is not None and token["early_result"] is not None:
        early = token["early_result"]
        waiting = transition_item(uow, row, ItemState.WAITING, "accepted; callback already received",
                                  **LEASE_FREE)
        if early.get("status") == "failed":
            return fail(uow, waiting, order, early.get("error") or "the system reported failure",
                        bool(early.get("retryable")))
        return complete(uow, waiting, order, early.get("result") or {}, "callback received")
    transition_item(uow, row, ItemState.WAITING, f"accepted ({outcome.status_code}); awaiting callback",
                    deadline_at=deadline, output=outcome.output or None, **LEASE_FREE)
    return ItemState.WAITING
