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
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from ..domain.errors import ConcurrentChange
from ..domain.jeopardy import GREEN
from ..domain.lifecycle import ItemState, OrderState, check_item_transition
from .outcomes import Outcome, OutcomeKind
from .ports import UnitOfWork
from . import items
from .transitions import transition_item


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
    if row["revision"] != order["revision"] or order["state"] == OrderState.PENDING_CANCELLATION:
        return False  # withdrawn while it ran (items._is_withdrawn)
    policy = outcome.breaker
    return not (policy is not None and policy.enabled and row.get("system") in watched)


def complete_many(uow: UnitOfWork, orders: dict[str, dict[str, Any]],
                  done: Iterable[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]) -> None:
    """Complete these running items (locked, each with its output and the assets it found;
    ``is_plain``) of these orders (locked) and release their successors. The caller settles
    their orders."""
    done = list(done)
    if not done:
        return
    now = uow.clock.now()
    events: list[dict[str, Any]] = []
    items.apply_outputs_of_many(uow, [(row, output) for row, output, _assets in done])
    items.record_assets_of_many(uow, [(row, orders[row["order_id"]], assets)
                                      for row, _output, assets in done if assets], now)
    for row, _output, _assets in done:
        check_item_transition(row["id"], row["state"], ItemState.COMPLETED)
        events.append(_state_event(row, ItemState.COMPLETED, "done"))
        if (row.get("jeopardy") or GREEN) != GREEN:
            events.append({"type": "JeopardyChangeEvent", "order_id": row["order_id"],
                           "item_id": row["id"], "payload": {
                               "item": row["id"], "key": row["key"], "from": row["jeopardy"],
                               "to": GREEN}})
    changed = uow.plan.complete_running({row["id"]: output for row, output, _ in done}, now)
    if changed != len(done):
        raise ConcurrentChange("plan items completed by someone else")
    uow.events.add_many(events, now)
    release_successors(uow, [row for row, _, _ in done])


def release_successors(uow: UnitOfWork, completed: list[dict[str, Any]]) -> None:
    """``items.release_successors`` for a set of items just completed (their orders not
    being cancelled): one dependency of each successor done per edge; those left with none
    are ready (on hold when their system is offline)."""
    now = uow.clock.now()
    names = {row["id"]: row["name"] for row in completed}
    edges = uow.plan.successors_of(names)
    freed = uow.plan.decrement_pending_by(Counter(succ for succ, _ in edges), now)
    if not freed:
        return
    last = {succ: names[pred] for succ, pred in edges}
    offline = uow.orchestration.offline_systems()
    events = []
    for succ in freed:
        check_item_transition(succ["id"], succ["state"], ItemState.READY)
        events.append(_state_event(succ, ItemState.READY,
                                   f"dependencies done (last: {last[succ['id']]})"))
    if uow.plan.make_ready([s["id"] for s in freed], now) != len(freed):
        raise ConcurrentChange("plan items released by someone else")
    uow.events.add_many(events, now)
    for succ in freed:
        if succ["system"] in offline:
            transition_item(uow, succ | {"state": ItemState.READY}, ItemState.ON_HOLD,
                            f"system {succ['system']} is offline")
    uow.plan.released()


def _state_event(row: dict[str, Any], target: str, cause: str) -> dict[str, Any]:
    """The PlanItemStateChangeEvent of ``transition_item``."""
    return {"type": "PlanItemStateChangeEvent", "order_id": row["order_id"], "item_id": row["id"],
            "payload": {"item": row["id"], "key": row["key"], "name": row["name"],
                        "from": row["state"], "to": target, "cause": cause,
                        "attempts": row.get("attempts")}}
