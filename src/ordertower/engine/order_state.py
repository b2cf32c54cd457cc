"""The order's state follows its plan: settled after every change to its items, as the
domain decides (domain/order_progress.py), from three yes-or-no figures the store answers from
its index of open items, whatever the order's size (``PlanRepository.progress_of``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..domain.jeopardy import GREEN
from ..domain.lifecycle import OrderState
from ..domain.order_progress import FOLLOWS_ITS_PLAN, PlanProgress, Step, settle
from .transitions import transition_order, transition_orders
from .ports import UnitOfWork


def settle_order(uow: UnitOfWork, order_id: str) -> None:
    """Bring the order's state in line with its plan: completed when nothing is left, held
    while an item is in fallout, in progress otherwise; a cancellation ends once every item
    is closed or undone."""
    order = uow.orders.get(order_id, whole=False)
    if order is None:
        return
    if order["state"] in FOLLOWS_ITS_PLAN:
        apply_settlement(uow, order, Figures(**uow.plan.progress_of({order_id: order})[order_id]))


@dataclass(frozen=True)
class Figures:
    """The plan's figures (domain/order_progress.PlanProgress), as the store read them."""

    anything_open: bool
    anything_in_fallout: bool
    started: bool


def settle_orders(uow: UnitOfWork, order_ids: Iterable[str],
                  locked: dict[str, dict[str, Any]] | None = None) -> None:
    """``settle_order`` for many orders (locked by the caller), their figures read in one
    query for all. ``locked``: those of them the caller read
    (``lock_many``) and did not change since, by id: not read again."""
    locked = locked or {}
    ids = set(order_ids)
    orders = [locked[i] for i in ids if i in locked] + uow.orders.lock_many(ids - set(locked))
    settling = {o["id"]: o for o in orders if o["state"] in FOLLOWS_ITS_PLAN}
    plans: dict[str, list[Step]] = {}
    for order_id, f in uow.plan.progress_of(settling).items():
        figures = Figures(**f)
        steps = settle(settling[order_id]["state"], figures)
        if any(step.to == OrderState.CANCELLED for step in steps):  # with its cancel requests
            apply_settlement(uow, settling[order_id], figures)
        elif steps:
            plans[order_id] = steps
    # the orders' first steps together, then their second ones: one UPDATE per kind of step
    current = {order_id: settling[order_id] for order_id in plans}
    for n in range(max((len(s) for s in plans.values()), default=0)):
        kinds: dict[Step, list[dict]] = {}
        for order_id, steps in plans.items():
            if n < len(steps):
                kinds.setdefault(steps[n], []).append(current[order_id])
        for step, group in kinds.items():
            for order in transition_orders(uow, group, step.to, step.cause, **_values(uow, step)):
                current[order["id"]] = order


def _values(uow: UnitOfWork, step: Step) -> dict:
    """What a step sets beside the state: the completion date of a final state, and a
    completed order is GREEN."""
    values = {"completion_date": uow.clock.now()} if step.final else {}
    if step.to == OrderState.COMPLETED:
        values["jeopardy"] = GREEN
    return values


def apply_settlement(uow: UnitOfWork, order: dict, progress: PlanProgress) -> None:
    order_id = order["id"]
    for step in settle(order["state"], progress):
        now = uow.clock.now()
        order = transition_order(uow, order, step.to, step.cause, **_values(uow, step))
        if step.to == OrderState.CANCELLED:
            for request in uow.changes.cancels(order_id, "inProgress"):
                uow.changes.update_cancel(request["id"], state="done", effective_at=now)
                uow.events.add("CancelProductOrderStateChangeEvent", {
                    "cancel": request["id"], "order": order_id, "state": "done"}, now,
                    order_id=order_id)
