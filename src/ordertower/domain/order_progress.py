"""The order's state follows its plan: which transitions the order takes after a change to
its items, decided from three yes-or-no figures (the caller reads them; this module only
decides). Whether, not how many: the caller can answer each from the first item it finds,
whatever the order's size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .lifecycle import OrderState

SETTLING_STATES = frozenset({OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS, OrderState.HELD})
# the states in which the order's plan may move the order (``settle`` returns no step otherwise)
FOLLOWS_ITS_PLAN = SETTLING_STATES | {OrderState.PENDING_CANCELLATION}


class PlanProgress(Protocol):
    """What the decision reads of the plan; a reader may compute each figure only when it
    is asked for (``settle`` asks for no more than it needs)."""

    @property
    def anything_open(self) -> bool: ...  # an item of the order is not yet closed (any revision)

    @property
    def started(self) -> bool: ...  # an item of the current revision has started

    @property
    def anything_in_fallout(self) -> bool: ...  # an item of the current revision is in fallout


@dataclass(frozen=True)
class Step:
    to: OrderState
    cause: str
    final: bool = False  # sets the completion date


def settle(state: str, progress: PlanProgress) -> list[Step]:
    """The transitions that bring an order in ``state`` in line with its plan, in order."""
    if state == OrderState.PENDING_CANCELLATION:
        if not progress.anything_open:
            return [Step(OrderState.CANCELLED, "every item is closed or undone", final=True)]
        return []
    if state not in SETTLING_STATES:
        return []
    steps: list[Step] = []
    if state == OrderState.ACKNOWLEDGED and progress.started:
        steps.append(Step(OrderState.IN_PROGRESS, "fulfillment started"))
        state = OrderState.IN_PROGRESS
    if not progress.anything_open:
        steps.append(Step(OrderState.COMPLETED, "every plan item is done", final=True))
    elif progress.anything_in_fallout:
        if state != OrderState.HELD:
            steps.append(Step(OrderState.HELD, "a plan item is in fallout"))
    elif state == OrderState.HELD:
        steps.append(Step(OrderState.IN_PROGRESS, "no plan item is in fallout any more"))
    return steps
