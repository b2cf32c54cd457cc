"""Completing many plan items at once: the set-based path of a worker's outcomes.

Most outcomes a worker records are plain completions: the work is done, no plan is stored,
nothing is compensated, the item was not withdrawn while it ran and its system's circuit
breaker has nothing to count. For those, ``complete_many`` does what ``items.complete`` does
one item at a time, in a fixed number of statements for the whole set: the outputs into
their lines (read in one statement, written in one), the assets into the installed base,
the items completed (one UPDATE), their successors released through the dependency counters
(the edges read once, one UPDATE of the counters, the freed items read and made ready in
one statement each), the events written (one INSERT); the orders are settled afterwards,
all at once (order_state.settle_orders). Every other outcome takes the one-at-a-time path
(recording.apply_outcome) in the same transaction.

**Milestones are reached where they are freed.** A milestone does no work: running it is
recording that its dependencies are done. One that a set of completions frees is run and
completed in the same transaction (``reach_milestones``), with everything a claim and its
outcome would have written (the item ready, running and completed, one attempt by this
worker, its output), and the successors it frees in turn, level by level: the same statements
for a set whatever its size, and no claim, no task, no second transaction for it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from ..domain.errors import ConcurrentChange
from ..domain.jeopardy import GREEN
from ..domain.lifecycle import ItemState, check_item_transition
from .outcomes import Outcome, OutcomeKind, attempt_row
from .ports import UnitOfWork
from . import items
from .transitions import transition_item

# the item types that do no work: run and completed in the transaction that frees them
INSTANT_TYPES = frozenset({"milestone"})


def watched_systems(uow: UnitOfWork) -> set[str]:
    """Systems whose circuit breaker is open, half-open or counting failures: an answer of
    theirs changes the breaker, so it is recorded one at a time (engine/breaker.py)."""
    return {row["system"] for row in uow.orchestration.breakers_to_watch()}


def is_plain(row: dict[str, Any], order: dict[str, Any], outcome: Outcome, watched: set[str]) -> bool:
    """Whether ``complete_many`` records this outcome exactly as ``items.complete`` would."""
    spec = row["spec"]
    if outcome.kind is not OutcomeKind.DONE or outcome.planned is not None:
        return False
    if spec.compensates or spec.compensated_by:
        return False
    if items.superseded(row, order):
        return False  # withdrawn while it ran (items.is_withdrawn)
    policy = outcome.breaker
    return not (policy is not None and policy.enabled and row.get("system") in watched)


def complete_many(uow: UnitOfWork, orders: dict[str, dict[str, Any]],
                  done: Iterable[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]],
                  worker: str) -> int:
    """Complete these running items (locked, each with its output and the assets it found;
    ``is_plain``) of these orders (locked) and release their successors, reaching the
    milestones that frees (``reach_milestones``, as ``worker``). The caller settles their
    orders. Returns how many milestones were reached."""
    done = list(done)
    if not done:
        return 0
    now = uow.clock.now()
    events: list[dict[str, Any]] = []
    items.apply_outputs_of_many(uow, [(row, output) for row, output, _assets in done])
    items.record_assets_of_many(uow, [(row, orders[row["order_id"]], assets)
                                      for row, _output, assets in done if assets], now)
    for row, _output, _assets in done:
        check_item_transition(row["id"], row["state"], ItemState.COMPLETED)
        events += _completed_events(row, "done")
    changed = uow.plan.complete_running({row["id"]: output for row, output, _ in done}, now)
    if changed != len(done):
        raise ConcurrentChange("plan items completed by someone else")
    uow.events.add_many(events, now)
    reached = release_successors(uow, [row for row, _, _ in done], orders)
    return reach_milestones(uow, orders, reached, worker)


def reach_milestones(uow: UnitOfWork, orders: dict[str, dict[str, Any]],
                     reached: list[dict[str, Any]], worker: str) -> int:
    """Run and complete these milestones (just freed, pending, locked; of these orders, not
    withdrawn), as if ``worker`` had claimed them and recorded their outcome, then the
    milestones their completion frees, until none is left. Returns how many."""
    total = 0
    while reached:
        now = uow.clock.now()
        rows = uow.plan.lock_by_ids(r["id"] for r in reached)  # their specs and jeopardy
        events: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        outputs: dict[str, dict[str, Any]] = {}
        for freed in reached:
            # as release_successors left it (its READY event written), then claimed: an
            # attempt counted, running
            row = rows[freed["id"]]
            ready = row | {"state": ItemState.READY, "attempts": row["attempts"] + 1}
            check_item_transition(ready["id"], ready["state"], ItemState.RUNNING)
            events.append(_state_event(ready, ItemState.RUNNING,
                                       f"reached by {worker}: a milestone does no work"))
            running = ready | {"state": ItemState.RUNNING}
            check_item_transition(running["id"], running["state"], ItemState.COMPLETED)
            events += _completed_events(running, "done")
            outcome = Outcome.milestone(running)
            outputs[running["id"]] = outcome.output
            attempts.append(attempt_row(running, worker, outcome, now))
            rows[freed["id"]] = running
        done = [rows[r["id"]] for r in reached]
        items.apply_outputs_of_many(uow, [(row, outputs[row["id"]]) for row in done])
        uow.plan.add_attempts(attempts)
        if uow.plan.complete_running(outputs, now, reached=True) != len(outputs):
            raise ConcurrentChange("milestones released by someone else")
        uow.events.add_many(events, now)
        total += len(done)
        reached = release_successors(uow, done, orders)
    return total


def release_successors(uow: UnitOfWork, completed: list[dict[str, Any]],
                       orders: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``items.release_successors`` for a set of items just completed (of these orders, locked,
    not being cancelled): one dependency of each successor done per edge; those left with
    none are ready (on hold when their system is offline). Returns the milestones among them,
    left pending for ``reach_milestones`` (their READY event written)."""
    now = uow.clock.now()
    names = {row["id"]: row["name"] for row in completed}
    edges = uow.plan.successors_of(names)
    freed = uow.plan.decrement_pending_by(Counter(succ for succ, _ in edges), now)
    if not freed:
        return []
    last = {succ: names[pred] for succ, pred in edges}
    events = []
    for succ in freed:
        check_item_transition(succ["id"], succ["state"], ItemState.READY)
        events.append(_state_event(succ, ItemState.READY,
                                   f"dependencies done (last: {last[succ['id']]})"))
    uow.events.add_many(events, now)
    reached, ready = [], []
    for succ in freed:
        (reached if _reached_at_once(succ, orders) else ready).append(succ)
    if not ready:
        return reached
    if uow.plan.make_ready([s["id"] for s in ready], now) != len(ready):
        raise ConcurrentChange("plan items released by someone else")
    offline = uow.orchestration.offline_systems()
    for succ in ready:
        if succ["system"] in offline:
            transition_item(uow, succ | {"state": ItemState.READY}, ItemState.ON_HOLD,
                            f"system {succ['system']} is offline")
    uow.plan.released()
    return reached


def _reached_at_once(item: dict[str, Any], orders: dict[str, dict[str, Any]]) -> bool:
    """A freed milestone of no system (one that names a system is held while it is offline,
    and counts against its limits), of its order's current revision, the order not being
    cancelled: what a claim and ``is_plain`` would run and complete as a plain completion."""
    order = orders.get(item["order_id"])
    return (item["type"] in INSTANT_TYPES and item["system"] is None and order is not None
            and not items.superseded(item, order))


def _completed_events(row: dict[str, Any], cause: str) -> list[dict[str, Any]]:
    """The events of completing ``row``: its state, and its jeopardy back to green."""
    events = [_state_event(row, ItemState.COMPLETED, cause)]
    if (row.get("jeopardy") or GREEN) != GREEN:
        events.append({"type": "JeopardyChangeEvent", "order_id": row["order_id"],
                       "item_id": row["id"], "payload": {
                           "item": row["id"], "key": row["key"], "from": row["jeopardy"],
                           "to": GREEN}})
    return events


def _state_event(row: dict[str, Any], target: str, cause: str) -> dict[str, Any]:
    """The PlanItemStateChangeEvent of ``transition_item``."""
    return {"type": "PlanItemStateChangeEvent", "order_id": row["order_id"], "item_id": row["id"],
            "payload": {"item": row["id"], "key": row["key"], "name": row["name"],
                        "from": row["state"], "to": target, "cause": cause,
                        "attempts": row.get("attempts")}}
