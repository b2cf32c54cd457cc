"""Time in the plan: ``wait`` items re-checked when due, waiting items failed when their
time-out passes (callbacks not received, tasks not completed, conditions not met)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .conflicts import retrying
from ..domain.conditions import MISSING, parse_condition
from ..domain.lifecycle import ItemState
from .items import complete, fail
from .leases import LEASE_FREE
from .locks import by_order, lock_if_free
from .transitions import transition_item
from .ports import Store, UnitOfWork

def wait_status(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any]) -> tuple[bool, str]:
    """Whether a wait item's condition holds now, and what it is waiting for."""
    spec = row["spec"]
    if spec.until:
        line = uow.orders.line(row["order_id"], row["revision"], row["line_id"]) if row["line_id"] else None
        attrs = line["attributes"] if line else {}
        cond = parse_condition(spec.until)
        if cond.evaluate(lambda name: attrs.get(name, MISSING)):
            return True, f"condition holds: {spec.until}"
        return False, f"waiting until {spec.until}"
    milestone = spec.after_order
    refs = order.get("related_orders") or []
    if not refs:
        return False, f"waiting for milestone '{milestone}' of related orders, but the order names none"
    pending = []
    for ref in refs:
        other = uow.orders.by_reference(ref)
        if other is None:
            pending.append(f"order {ref} does not exist yet")
        elif not uow.plan.milestone_done(other["id"], other["revision"], milestone):
            pending.append(f"order {ref} has not reached milestone '{milestone}'")
    if pending:
        return False, "waiting: " + "; ".join(pending)
    return True, f"related orders reached milestone '{milestone}'"


def check_wait(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], first: bool = False) -> str:
    now = uow.clock.now()
    holds, why = wait_status(uow, row, order)
    if holds:
        if row["state"] == ItemState.RUNNING:
            row = transition_item(uow, row, ItemState.WAITING, "checking", **LEASE_FREE)
        return complete(uow, row, order, {"reason": why}, why)
    spec = row["spec"]
    next_check = now + timedelta(seconds=spec.check_every_s or 5)
    if first:
        timeout = spec.timeout_s
        transition_item(uow, row, ItemState.WAITING, why, not_before=next_check, last_error=why,
                        deadline_at=now + timedelta(seconds=timeout) if timeout else None, **LEASE_FREE)
    else:
        uow.plan.update_item(row["id"], ItemState.WAITING, not_before=next_check, last_error=why,
                             updated_at=now)
    return ItemState.WAITING


@retrying
def sweep_timers(store: Store) -> int:
    """Re-check due wait items and fail waiting items whose time-out passed. Never waits
    for a lock (engine/locks.py): each order, then its items, only if nobody holds them now;
    the others are left for the next sweep."""
    handled = 0
    with store.uow() as uow:
        now = uow.clock.now()
        candidates = by_order(uow.plan.timed_out(now) + uow.plan.due_waits(now))
        for order_id, rows in candidates.items():
            held = lock_if_free(uow, order_id, [c["id"] for c in rows])
            if held is None:
                continue
            for candidate in rows:
                if candidate["id"] not in held[1]:
                    continue
                # read again: the order and its items may have changed by an earlier step here
                order, row = uow.orders.get(order_id, whole=False), uow.plan.get(candidate["id"])
                if row["state"] != ItemState.WAITING:
                    continue
                if row["deadline_at"] is not None and row["deadline_at"] <= now:
                    _time_out(uow, row, order, now)
                    handled += 1
                elif row["type"] == "wait" and row["not_before"] is not None and row["not_before"] <= now:
                    check_wait(uow, row, order)
                    handled += 1
        uow.commit()
    return handled


def _time_out(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], now) -> None:
    """A waiting item whose callback, task or condition did not come in time fails."""
    kind = {"callout": "no callback", "manual": "task not completed",
            "wait": "condition not met"}.get(row["type"], "no answer")
    detail = f" ({row['last_error']})" if row["type"] == "wait" and row["last_error"] else ""
    error = f"time-out: {kind} within {row['spec'].timeout_s:g}s{detail}"
    token = uow.orchestration.token_for(row["id"], row["attempts"])
    if token is not None and token["used_at"] is None:
        uow.orchestration.update_token(token["token_hash"], used_at=now)
    fail(uow, row, order, error, retryable=row["type"] == "callout")
