"""Recording the outcome of an attempt: the attempt, the item's new state (completed,
retrying, fallout, or waiting for a callback, a person or a condition), and everything that
follows from it (items.complete / items.fail), in one transaction; a worker records many
outcomes in one transaction (``record_many``: group commit, plain completions in sets)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from .. import metrics
from . import breaker, completions
from .conflicts import retrying
from ..domain.lifecycle import ItemState
from .items import complete, fail
from .leases import LEASE_FREE
from .locks import lock, lock_orders
from .outcomes import Outcome, OutcomeKind, attempt_row
from .order_state import settle_orders
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
        order, row = lock(uow, item["order_id"], item["id"], whole=False)
        if not holds(row, worker, item):
            return None
        uow.plan.add_attempt(attempt_row(row, worker, outcome, uow.clock.now()))
        state = apply_outcome(uow, row, order, outcome)
        uow.commit()
        return state


def holds(row: dict[str, Any] | None, worker: str, item: dict[str, Any]) -> bool:
    """Whether ``worker`` still holds the attempt of ``item`` it ran (else its outcome is
    discarded: the lease expired and another worker took the item over)."""
    if row is None or row["state"] != ItemState.RUNNING or row["lease_owner"] != worker \
            or row["attempts"] != item["attempts"]:
        log.warning("outcome discarded: lease lost", order_id=item["order_id"], item_id=item["id"],
                    worker=worker)
        return False
    return True


def apply_outcome(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any],
                  outcome: Outcome) -> str:
    """After the attempt row: the item's new state and all that follows, one item at a time
    (the order and the item locked)."""
    # --- circuit breaker hook (engine/breaker.py): the attempt counts for or against its
    # system's breaker; a transport failure that trips it (or comes while it is open)
    # holds the item, its attempt not charged
    if breaker.after_attempt(uow, row, order, outcome) is not None:
        return ItemState.ON_HOLD
    # --- end of the circuit breaker hook
    if outcome.kind is OutcomeKind.FAILED:
        return fail(uow, row, order, outcome.error or "failed", outcome.retryable,
                    outcome.retry_after)
    if outcome.kind is OutcomeKind.DONE:
        if outcome.planned is not None:
            record_plan(uow, row, order, outcome.planned)
        return complete(uow, row, order, outcome.output, "done", assets=outcome.assets)
    return _start_waiting(uow, row, order, outcome)


@retrying
def record_many(store: Store, worker: str, done: list[tuple[dict[str, Any], Outcome]]) -> list[str | None]:
    """Write the outcomes of many attempts in one transaction (group commit): the plain
    completions as sets (engine/completions.py), any other outcome one at a time as
    ``record`` writes it. Returns each item's new state, or None where the lease was lost."""
    with store.uow() as uow:
        now = uow.clock.now()
        orders = lock_orders(uow, {item["order_id"] for item, _ in done})
        rows = uow.plan.lock_by_ids(item["id"] for item, _ in done)
        states: list[str | None] = [None] * len(done)
        held = [(n, rows[item["id"]], outcome) for n, (item, outcome) in enumerate(done)
                if holds(rows.get(item["id"]), worker, item)]
        uow.plan.add_attempts([attempt_row(row, worker, outcome, now) for _, row, outcome in held])
        watched = completions.watched_systems(uow)
        plain = [(n, row, outcome) for n, row, outcome in held
                 if completions.is_plain(row, orders[row["order_id"]], outcome, watched)]
        reached = completions.complete_many(uow, orders, [(row, outcome.output, outcome.assets)
                                                          for _, row, outcome in plain], worker)
        for n, _row, _outcome in plain:
            states[n] = ItemState.COMPLETED
        plain_ids = {n for n, _, _ in plain}
        for n, row, outcome in held:
            if n not in plain_ids:  # the order as it is now (an item before may have moved it)
                states[n] = apply_outcome(uow, row, uow.orders.get(row["order_id"], whole=False),
                                          outcome)
        # the orders as locked above, unless an outcome one at a time may have moved one
        unchanged = orders if len(plain) == len(held) else None
        settle_orders(uow, {row["order_id"] for _, row, _ in plain}, locked=unchanged)
        uow.commit()
        if reached:  # milestones freed and completed on the way (engine/completions.py)
            metrics.RECORDS.labels(worker, ItemState.COMPLETED.value).inc(reached)
        return states


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
