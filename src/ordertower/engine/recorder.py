"""Record what happens to plan items, one transaction each: the new state, the attempt,
the events, the line data and assets produced, the successors it unblocks and the order's
state. Used by workers (outcomes, sweeps) and by the use cases that finish waiting items
(callbacks, tasks, operator actions).
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import timedelta
from typing import Any

import structlog

from ..adapters.store.repositories import new_id
from ..collector import collector_paused
from ..domain.catalog import RetryPolicy
from ..domain.conditions import MISSING, parse_condition
from ..domain.jeopardy import GREEN, item_jeopardy, order_jeopardy
from ..domain.lifecycle import ItemState, OrderState
from ..domain.retry import attempts_left, next_delay
from ..domain.routing import pick_member
from .outcomes import Outcome
from .transitions import ConcurrentChange, transition_item, transition_order

log = structlog.get_logger("ordertower.engine")
_rng = random.Random()
LEASE_FREE = {"lease_owner": None, "lease_until": None}


# --- locks ---------------------------------------------------------------------------------
# Every writer takes row locks in one order: the order, then its plan items (then tasks and
# tokens). Claims lock items first but only ever *skip* a locked order. So on PostgreSQL an
# amendment (which locks the order, then all its items) can never deadlock with a worker.

def lock(uow, order_id: str, item_id: str | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    order = uow.orders.get(order_id, for_update=True)
    item = uow.plan.get(item_id, for_update=True) if item_id else None
    return order, item


# --- claiming and leases -------------------------------------------------------------------

def claim(store, worker: str, limit: int, lease: timedelta, exclude_systems=(),
          limits: dict[str, int] | None = None) -> list[dict[str, Any]]:
    with store.uow() as uow:
        now = uow.clock.now()
        offline = uow.orchestration.offline_systems()
        capacity = None
        if limits:
            running = uow.plan.running_per_system()
            capacity = {s: max(n - running.get(s, 0), 0) for s, n in limits.items()}
        rows = uow.plan.claim(worker, limit, now, now + lease, set(exclude_systems) | offline, capacity)
        if not rows:
            return []
        uow.events.add_many([{
            "type": "PlanItemStateChangeEvent", "order_id": r["order_id"], "item_id": r["id"],
            "payload": {"item": r["id"], "key": r["key"], "name": r["name"],
                        "from": r["previous_state"], "to": ItemState.RUNNING.value,
                        "cause": f"claimed by {worker}", "attempts": r["attempts"]}} for r in rows], now)
        # planning a large order is not fulfilment: the order stays acknowledged until planned
        # orders locked by someone else (an amendment) are skipped: settle_order catches up
        started = sorted({r["order_id"] for r in rows if r["step_id"] != "plan-order"})
        for order in uow.orders.lock_acknowledged(started):
            transition_order(uow, order, OrderState.IN_PROGRESS, "fulfillment started")
        uow.commit()
        return rows


def expire_leases(store) -> list[dict[str, Any]]:
    """Items whose worker stopped renewing its lease go back to ``ready`` for any worker."""
    with store.uow() as uow:
        rows = uow.plan.expired(uow.clock.now())
        for row in rows:
            transition_item(uow, row, ItemState.READY, f"lease of {row['lease_owner']} expired",
                            **LEASE_FREE)
            log.warning("lease expired", order_id=row["order_id"], item_id=row["id"], worker=row["lease_owner"])
        if rows:
            uow.plan.released()
        uow.commit()
        return rows


def release(store, worker: str, item: dict[str, Any], cause: str) -> bool:
    """Give back an item this worker claimed but will not finish (it is shutting down): the
    item is ``ready`` again for any worker and the attempt it did not make is not charged.
    Returns False when the worker no longer held it."""
    with store.uow() as uow:
        _order, row = lock(uow, item["order_id"], item["id"])
        if row is None or row["state"] != ItemState.RUNNING or row["lease_owner"] != worker \
                or row["attempts"] != item["attempts"]:
            return False
        transition_item(uow, row, ItemState.READY, cause, attempts=max(row["attempts"] - 1, 0),
                        **LEASE_FREE)
        uow.plan.released()
        uow.commit()
        return True


def renew_leases(store, worker: str, ids: list[str], lease: timedelta) -> int:
    if not ids:
        return 0
    with store.uow() as uow:
        n = uow.plan.renew_leases(worker, ids, uow.clock.now() + lease)
        uow.commit()
        return n


def load_context(store, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict]]:
    """The order, the item's line and every line of the order, as they are now."""
    with store.read() as uow:
        order = uow.orders.get(item["order_id"])
        # a compensation reads the line of the revision whose work it undoes
        lines = uow.orders.lines(item["order_id"], item["spec"].get("line_revision") or item["revision"])
    assert order is not None
    line = next((ln for ln in lines if ln["line_id"] == item["line_id"]), None)
    return order, line, lines


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_callback_token(store, item: dict[str, Any]) -> str:
    """A single-use token for the asynchronous reply to this attempt (stored hashed)."""
    token = secrets.token_urlsafe(24)
    timeout = item["spec"].get("timeout_s")
    with store.uow() as uow:
        now = uow.clock.now()
        uow.orchestration.add_token({
            "token_hash": token_hash(token), "item_id": item["id"], "attempt": item["attempts"],
            "created_at": now, "expires_at": now + timedelta(seconds=timeout) if timeout else None})
        uow.commit()
    return token


# --- recording an attempt --------------------------------------------------------------------

def record(store, worker: str, item: dict[str, Any], outcome: Outcome) -> str | None:
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
            "outcome": "waiting" if outcome.ok and outcome.waiting else outcome.kind,
            "error": outcome.error})
        if not outcome.ok:
            state = fail(uow, row, order, outcome.error or "failed", outcome.retryable,
                         outcome.retry_after)
        elif not outcome.waiting:
            if outcome.planned is not None:
                _record_plan(uow, row, order, outcome.planned)
            state = complete(uow, row, order, outcome.output, "done", assets=outcome.assets)
        else:
            state = _start_waiting(uow, row, order, outcome)
        uow.commit()
        return state


def _start_waiting(uow, row, order, outcome: Outcome) -> str:
    now = uow.clock.now()
    spec = row["spec"]
    timeout = spec.get("timeout_s")
    deadline = now + timedelta(seconds=timeout) if timeout else None
    if outcome.wait:
        return _check_wait(uow, row | {"state": ItemState.RUNNING}, order, first=True)
    if outcome.task is not None:
        task = _create_task(uow, row, order, outcome.task)
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


# --- the two ends of an item: completion and failure -------------------------------------------

def complete(uow, row: dict[str, Any], order: dict[str, Any], output: dict[str, Any], cause: str,
             assets: list[dict[str, Any]] | None = None) -> str:
    """Complete an item: outputs into its line, assets, successors released, order state."""
    now = uow.clock.now()
    _apply_outputs(uow, row, output)
    for asset in assets or []:
        _record_asset(uow, order, asset, now)
    transition_item(uow, row, ItemState.COMPLETED, cause, output=output, finished_at=now,
                    last_error=None, deadline_at=None, jeopardy=GREEN, **LEASE_FREE)
    if (row.get("jeopardy") or GREEN) != GREEN:
        uow.events.add("JeopardyChangeEvent", {"item": row["id"], "key": row["key"],
                                               "from": row["jeopardy"], "to": GREEN}, now,
                       order_id=row["order_id"], item_id=row["id"])
    _reconcile_compensation(uow, row, cause)
    release_successors(uow, row)
    settle_order(uow, order["id"])
    return ItemState.COMPLETED


def _reconcile_compensation(uow, row: dict[str, Any], cause: str) -> None:
    spec = row["spec"]
    if spec.get("compensates"):  # this item undid another: that one is now compensated
        original = uow.plan.get(spec["compensates"], for_update=True)
        if original["state"] == ItemState.COMPLETED:
            original = transition_item(uow, original, ItemState.COMPENSATING, cause)
        if original["state"] == ItemState.COMPENSATING:
            transition_item(uow, original, ItemState.COMPENSATED, f"undone by {row['name']}")
    elif spec.get("compensated_by"):  # withdrawn while it ran: its outcome is kept, then undone
        done = uow.plan.get(row["id"])
        transition_item(uow, done, ItemState.COMPENSATING, "withdrawn by a revision while it ran; "
                        "its compensation follows")


def _is_withdrawn(row: dict[str, Any], order: dict[str, Any]) -> bool:
    """Work a revision or cancellation withdrew while it ran (compensations are not)."""
    if row["spec"].get("compensates"):
        return False
    return row["revision"] != order["revision"] or order["state"] == OrderState.PENDING_CANCELLATION


def fail(uow, row: dict[str, Any], order: dict[str, Any], error: str, retryable: bool,
         retry_after: float | None = None) -> str:
    """A failed attempt: retry later if the policy has attempts left, else fallout."""
    now = uow.clock.now()
    spec = row["spec"]
    policy = RetryPolicy.model_validate(spec["retry"]) if spec.get("retry") else None
    counted = row["attempts"] - int(spec.get("attempt_offset", 0))
    if _is_withdrawn(row, order):
        failed = transition_item(uow, row, ItemState.FALLOUT, f"failed: {error}", last_error=error,
                                 finished_at=now, deadline_at=None, **LEASE_FREE)
        transition_item(uow, failed, ItemState.CANCELLED, "withdrawn: its failure is discarded")
        comp_id = spec.get("compensated_by")
        if comp_id:  # nothing was done, so nothing to undo
            comp = uow.plan.get(comp_id, for_update=True)
            if comp["state"] == ItemState.PENDING:
                comp = transition_item(uow, comp, ItemState.SKIPPED, "nothing to undo: the work failed",
                                       finished_at=now)
                release_successors(uow, comp)
        settle_order(uow, order["id"])
        return ItemState.CANCELLED
    if retryable and attempts_left(policy, counted):
        assert policy is not None
        delay = next_delay(policy, counted, _rng, retry_after)
        transition_item(uow, row, ItemState.RETRYING,
                        f"attempt {row['attempts']} failed: {error}; next in {delay.total_seconds():.1f}s",
                        not_before=now + delay, last_error=error, deadline_at=None, **LEASE_FREE)
        return ItemState.RETRYING
    why = "retries spent" if retryable else "fatal error"
    transition_item(uow, row, ItemState.FALLOUT, f"{why}: {error}", last_error=error,
                    finished_at=now, deadline_at=None, **LEASE_FREE)
    task = uow.orchestration.task_for_item(row["id"])
    if task is not None:
        uow.orchestration.update_task(task["id"], state="expired")
    if order["state"] in (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS):
        transition_order(uow, order, OrderState.HELD, f"plan item {row['name']} is in fallout")
    return ItemState.FALLOUT


def release_successors(uow, row: dict[str, Any]) -> None:
    now = uow.clock.now()
    freed = uow.plan.decrement_pending(uow.plan.successors(row["id"]), now)
    if not freed:
        return
    order = uow.orders.get(row["order_id"])
    if order is not None and order["state"] == OrderState.PENDING_CANCELLATION:
        undo = [s for s in freed if s["spec"].get("compensates")]
        for succ in freed:
            if not succ["spec"].get("compensates"):
                transition_item(uow, succ, ItemState.CANCELLED, "order cancelled")
        for succ in undo:
            transition_item(uow, succ, ItemState.READY, f"dependencies done (last: {row['name']})")
        if undo:
            uow.plan.released()
        return
    offline = uow.orchestration.offline_systems()
    for succ in freed:
        ready = transition_item(uow, succ, ItemState.READY, f"dependencies done (last: {row['name']})")
        if succ["system"] in offline:
            transition_item(uow, ready, ItemState.ON_HOLD, f"system {succ['system']} is offline")
    uow.plan.released()


def settle_order(uow, order_id: str) -> None:
    """Bring the order's state in line with its plan: completed when nothing is left,
    held while an item is in fallout, in progress otherwise."""
    order = uow.orders.get(order_id)
    if order is not None and order["state"] == OrderState.PENDING_CANCELLATION:
        if uow.plan.count_open(order_id) == 0:
            now = uow.clock.now()
            transition_order(uow, order, OrderState.CANCELLED, "every item is closed or undone",
                             completion_date=now)
            for request in uow.changes.cancels(order_id, "inProgress"):
                uow.changes.update_cancel(request["id"], state="done", effective_at=now)
                uow.events.add("CancelProductOrderStateChangeEvent", {
                    "cancel": request["id"], "order": order_id, "state": "done"}, now, order_id=order_id)
        return
    if order is None or order["state"] not in (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS,
                                               OrderState.HELD):
        return
    if order["state"] == OrderState.ACKNOWLEDGED and uow.plan.count_started(order_id, order["revision"]):
        order = transition_order(uow, order, OrderState.IN_PROGRESS, "fulfillment started")
    if uow.plan.count_open(order_id) == 0:
        transition_order(uow, order, OrderState.COMPLETED, "every plan item is done",
                         completion_date=uow.clock.now(), jeopardy=GREEN)
    elif uow.plan.count_in_state(order_id, order["revision"], ItemState.FALLOUT) > 0:
        if order["state"] != OrderState.HELD:
            transition_order(uow, order, OrderState.HELD, "a plan item is in fallout")
    elif order["state"] == OrderState.HELD:
        transition_order(uow, order, OrderState.IN_PROGRESS, "no plan item is in fallout any more")


def _apply_outputs(uow, row: dict[str, Any], output: dict[str, Any]) -> None:
    outputs = row["spec"].get("outputs") or {}
    if not outputs or row["line_id"] is None:
        return
    updates = {attr: output[field] for attr, field in outputs.items() if field in output}
    update_line(uow, row, updates)


def update_line(uow, row: dict[str, Any], updates: dict[str, Any]) -> None:
    if not updates or row["line_id"] is None:
        return
    line = uow.orders.line(row["order_id"], row["revision"], row["line_id"])
    if line is None:
        return
    uow.orders.update_line_attributes(row["order_id"], row["revision"], row["line_id"],
                                      dict(line["attributes"]) | updates)


def _record_asset(uow, order: dict[str, Any], asset: dict[str, Any], now) -> None:
    """Record one change of the installed base that an ``assetize`` step produced: the asset
    added, modified or terminated, and the inventory items its lines keep or leave
    (adapters/store/inventory.py). Idempotent."""
    for kind, payload in uow.inventory.record_change(order, asset, now, new_id):
        uow.events.add(kind, payload, now, order_id=order["id"])


def _record_plan(uow, row: dict[str, Any], order: dict[str, Any], planned) -> None:
    """Write what the ``plan-order`` step made for a large order (engine/plan_order.py): its
    lines and plan, after the planning item; or its rejection."""
    now = uow.clock.now()
    if planned.rejection:
        transition_order(uow, order, OrderState.REJECTED, planned.rejection,
                         state_reason=planned.rejection)
        return
    with collector_paused(len(planned.lines) >= 1000):  # tens of thousands of rows
        uow.orders.add_lines(order["id"], row["revision"], planned.lines)
        uow.plan.add_plan(order["id"], row["revision"], planned.plan, now,
                          not_before=order.get("requested_start_date"),
                          first_position=row["position"] + 1)
    if planned.catalog_version:
        uow.orders.update(order["id"], catalog_version=planned.catalog_version)


# --- manual tasks --------------------------------------------------------------------------

def _create_task(uow, row: dict[str, Any], order: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    queue = task["queue"]
    members = task.get("members") or []
    assignee = None
    if members:
        from ..domain.catalog import WorkQueue

        wq = WorkQueue(id=queue, members=tuple(members), strategy=task.get("strategy", "round-robin"))
        cursor = uow.orchestration.next_cursor(queue)
        assignee, cursor = pick_member(wq, uow.orchestration.open_tasks_by_member(queue), cursor)
        uow.orchestration.save_cursor(queue, cursor)
    created = {"id": new_id(), "item_id": row["id"], "order_id": row["order_id"], "queue": queue,
               "state": "open", "assignee": assignee, "name": task.get("name") or row["name"],
               "data": task.get("data") or {}, "routed_by": task.get("routed_by"),
               "created_at": uow.clock.now()}
    uow.orchestration.add_task(created)
    uow.events.add("TaskCreateEvent", {"task": created["id"], "queue": queue, "assignee": assignee,
                                       "item": row["id"], "routed_by": task.get("routed_by")},
                   uow.clock.now(), order_id=row["order_id"], item_id=row["id"])
    return created


# --- wait items and time-outs ---------------------------------------------------------------

def wait_status(uow, row: dict[str, Any], order: dict[str, Any]) -> tuple[bool, str]:
    """Whether a wait item's condition holds now, and what it is waiting for."""
    spec = row["spec"]
    if spec.get("until"):
        line = uow.orders.line(row["order_id"], row["revision"], row["line_id"]) if row["line_id"] else None
        attrs = line["attributes"] if line else {}
        cond = parse_condition(spec["until"])
        if cond.evaluate(lambda name: attrs.get(name, MISSING)):
            return True, f"condition holds: {spec['until']}"
        return False, f"waiting until {spec['until']}"
    milestone = spec["after_order"]
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


def _check_wait(uow, row: dict[str, Any], order: dict[str, Any], first: bool = False) -> str:
    now = uow.clock.now()
    holds, why = wait_status(uow, row, order)
    if holds:
        if row["state"] == ItemState.RUNNING:
            row = transition_item(uow, row, ItemState.WAITING, "checking", **LEASE_FREE)
        return complete(uow, row, order, {"reason": why}, why)
    spec = row["spec"]
    next_check = now + timedelta(seconds=spec.get("check_every_s") or 5)
    if first:
        timeout = spec.get("timeout_s")
        transition_item(uow, row, ItemState.WAITING, why, not_before=next_check, last_error=why,
                        deadline_at=now + timedelta(seconds=timeout) if timeout else None, **LEASE_FREE)
    else:
        uow.plan.update_item(row["id"], ItemState.WAITING, not_before=next_check, last_error=why,
                             updated_at=now)
    return ItemState.WAITING


def sweep_timers(store) -> int:
    """Re-check due wait items and fail waiting items whose time-out passed."""
    handled = 0
    with store.uow() as uow:
        now = uow.clock.now()
        for candidate in uow.plan.timed_out(now):
            order, row = lock(uow, candidate["order_id"], candidate["id"])
            if row["state"] != ItemState.WAITING or row["deadline_at"] is None or row["deadline_at"] > now:
                continue
            kind = {"callout": "no callback", "manual": "task not completed",
                    "wait": "condition not met"}.get(row["type"], "no answer")
            detail = f" ({row['last_error']})" if row["type"] == "wait" and row["last_error"] else ""
            error = f"time-out: {kind} within {row['spec'].get('timeout_s'):g}s{detail}"
            token = uow.orchestration.token_for(row["id"], row["attempts"])
            if token is not None and token["used_at"] is None:
                uow.orchestration.update_token(token["token_hash"], used_at=now)
            fail(uow, row, order, error, retryable=row["type"] == "callout")
            handled += 1
        for candidate in uow.plan.due_waits(now):
            order, row = lock(uow, candidate["order_id"], candidate["id"])
            if row["state"] != ItemState.WAITING or (row["deadline_at"] is not None and row["deadline_at"] <= now):
                continue
            _check_wait(uow, row, order)
            handled += 1
        uow.commit()
    return handled


# --- jeopardy --------------------------------------------------------------------------------

def sweep_jeopardy(store, limit: int = 1000) -> int:
    """Recompute jeopardy of open orders and their items; raise an event on each change."""
    changes = 0
    with store.uow() as uow:
        now = uow.clock.now()
        for order_id in uow.orders.open_ids(limit):
            order = uow.orders.lock_if_free(order_id)
            if order is None:  # being changed right now: the next sweep sees it
                continue
            items = uow.plan.for_order(order_id, order["revision"])
            level, projection = order_jeopardy(items, now, order["requested_completion_date"])
            if level != (order["jeopardy"] or GREEN) or projection != order["projected_completion"]:
                uow.orders.update(order_id, jeopardy=level, projected_completion=projection)
                if level != (order["jeopardy"] or GREEN):
                    uow.events.add("JeopardyChangeEvent", {
                        "order": order_id, "from": order["jeopardy"] or GREEN, "to": level,
                        "projected_completion": projection.isoformat()}, now, order_id=order_id)
                    changes += 1
            for item in items:
                level = item_jeopardy(item, now)
                if level != (item["jeopardy"] or GREEN):
                    uow.plan.set_jeopardy(item["id"], level)
                    uow.events.add("JeopardyChangeEvent", {
                        "item": item["id"], "key": item["key"], "from": item["jeopardy"] or GREEN,
                        "to": level}, now, order_id=order_id, item_id=item["id"])
                    changes += 1
        uow.commit()
    return changes


__all__ = ["claim", "expire_leases", "renew_leases", "load_context", "issue_callback_token", "record",
           "complete", "fail", "release_successors", "settle_order", "update_line", "wait_status",
           "sweep_timers", "sweep_jeopardy", "token_hash", "ConcurrentChange"]
