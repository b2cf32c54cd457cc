"""The two ends of a plan item, the one API that workers, callbacks, tasks and operator actions
call inside their unit of work: ``complete`` (outputs into the line, assets, compensation
bookkeeping, successors released, order settled) and ``fail`` (retry later, or fallout)."""

from __future__ import annotations

import random
from typing import Any

from ..domain.ids import new_id
from ..domain.jeopardy import GREEN
from ..domain.lifecycle import ItemState, OrderState
from ..domain.retry import attempts_left, next_delay
from .fallout_assignment import assign_by_rule
from .leases import LEASE_FREE
from .order_state import settle_order
from .transitions import transition_item, transition_order
from .ports import UnitOfWork

_rng = random.Random()

def complete(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], output: dict[str, Any], cause: str,
             assets: list[dict[str, Any]] | None = None) -> str:
    """Complete an item: outputs into its line, assets, successors released, order state."""
    now = uow.clock.now()
    apply_outputs(uow, row, output)
    if assets and not is_withdrawn(row, order):  # withdrawn while it ran: never recorded
        record_assets(uow, row, order, assets, now)
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


def _reconcile_compensation(uow: UnitOfWork, row: dict[str, Any], cause: str) -> None:
    spec = row["spec"]
    if spec.compensates:  # this item undid another: that one is now compensated
        original = uow.plan.get(spec.compensates, for_update=True)
        if original["state"] == ItemState.COMPLETED:
            original = transition_item(uow, original, ItemState.COMPENSATING, cause)
        if original["state"] == ItemState.COMPENSATING:
            transition_item(uow, original, ItemState.COMPENSATED, f"undone by {row['name']}")
    elif spec.compensated_by:  # withdrawn while it ran: its outcome is kept, then undone
        done = uow.plan.get(row["id"])
        transition_item(uow, done, ItemState.COMPENSATING, "withdrawn by a revision while it ran; "
                        "its compensation follows")


def superseded(row: dict[str, Any], order: dict[str, Any]) -> bool:
    """An item of an earlier revision than its order's, or of an order being cancelled: work a
    revision or cancellation withdrew, unless the item is a compensation (``is_withdrawn``)."""
    return row["revision"] != order["revision"] or order["state"] == OrderState.PENDING_CANCELLATION


def is_withdrawn(row: dict[str, Any], order: dict[str, Any]) -> bool:
    """Work a revision or cancellation withdrew while it ran (compensations are not)."""
    return not row["spec"].compensates and superseded(row, order)


def fail(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], error: str, retryable: bool,
         retry_after: float | None = None) -> str:
    """A failed attempt: retry later if the policy has attempts left, else fallout."""
    now = uow.clock.now()
    spec = row["spec"]
    policy = spec.retry
    counted = spec.attempts_counted(row["attempts"])
    if is_withdrawn(row, order):
        failed = transition_item(uow, row, ItemState.FALLOUT, f"failed: {error}", last_error=error,
                                 finished_at=now, deadline_at=None, **LEASE_FREE)
        transition_item(uow, failed, ItemState.CANCELLED, "withdrawn: its failure is discarded")
        comp_id = spec.compensated_by
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
    assign_by_rule(uow, row, error)
    if order["state"] in (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS):
        transition_order(uow, order, OrderState.HELD, f"plan item {row['name']} is in fallout")
    return ItemState.FALLOUT


def release_successors(uow: UnitOfWork, row: dict[str, Any]) -> None:
    now = uow.clock.now()
    freed = uow.plan.decrement_pending(uow.plan.successors(row["id"]), now)
    if not freed:
        return
    order = uow.orders.get(row["order_id"], whole=False)
    if order is not None and order["state"] == OrderState.PENDING_CANCELLATION:
        undo = [s for s in freed if s["spec"].compensates]
        for succ in freed:
            if not succ["spec"].compensates:
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


def record_assets(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any],
                  assets: list[dict[str, Any]], now) -> None:
    """The changes of the installed base an item found, recorded, and kept with the item (to
    restore if its bundle is withdrawn later)."""
    record_assets_of_many(uow, [(row, order, assets)], now)


def record_assets_of_many(uow: UnitOfWork, found: list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]],
                          now) -> None:
    """``record_assets`` for many items at once, each (item, its order, the asset changes it
    found), in this sequence: a few statements for all (adapters/store/inventory.py)."""
    results = iter(uow.inventory.record_changes(
        [(order, asset) for _row, order, assets in found for asset in assets], now, new_id))
    events: list[dict[str, Any]] = []
    specs: dict[str, Any] = {}
    for row, order, assets in found:
        journal = []
        for _asset in assets:
            written_events, written = next(results)
            events += [{"type": kind, "payload": payload, "order_id": order["id"]}
                       for kind, payload in written_events]
            if written is not None:
                journal.append(written)
        if journal:
            specs[row["id"]] = row["spec"].evolve(recorded=tuple(journal))
    uow.events.add_many(events, now)
    uow.plan.set_specs(specs)


def apply_outputs(uow: UnitOfWork, row: dict[str, Any], output: dict[str, Any]) -> None:
    apply_outputs_of_many(uow, [(row, output)])


def apply_outputs_of_many(uow: UnitOfWork, done: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """What each item's outputs write into its line, for many items in this sequence: the
    lines read in one statement and written in one (executemany), each line once with what
    all its items wrote (a later item's value over an earlier one's, as one at a time)."""
    updates: dict[tuple[str, int, str], dict[str, Any]] = {}
    for row, output in done:
        outputs = row["spec"].outputs
        if not outputs or row["line_id"] is None:
            continue
        values = {attr: output[field] for attr, field in outputs.items() if field in output}
        if values:
            updates.setdefault((row["order_id"], row["revision"], row["line_id"]), {}).update(values)
    if not updates:
        return
    lines = uow.orders.lines_by_id(updates)
    uow.orders.update_lines_attributes({key: dict(lines[key]["attributes"]) | values
                                        for key, values in updates.items() if key in lines})


def update_line(uow: UnitOfWork, row: dict[str, Any], updates: dict[str, Any]) -> None:
    if not updates or row["line_id"] is None:
        return
    line = uow.orders.line(row["order_id"], row["revision"], row["line_id"])
    if line is None:
        return
    uow.orders.update_line_attributes(row["order_id"], row["revision"], row["line_id"],
                                      dict(line["attributes"]) | updates)
