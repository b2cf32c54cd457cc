"""The order's state follows its plan: which transitions the order takes after a change to
its items, decided from a few counts (the caller reads them; this module only decides)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .lifecycle import OrderState

SETTLING_STATES = frozenset({OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS, OrderState.HELD})


class PlanProgress(Protocol):
    """What the decision reads of the plan; a reader may compute each figure only when it
    is asked for (``settle`` asks for no more than it needs)."""

    @property
    def open_items(self) -> int: ...  # items of the order not yet closed (any revision)

    @property
    def started(self) -> bool: ...  # an item of the current revision has started

    @property
    def in_fallout(self) -> int: ...  # items of the current revision in fallout


@dataclass(frozen=True)
class Step:
    to: OrderState
    cause: str
    final: bool = False  # sets the completion date


def settle(state: str, progress: PlanProgress) -> list[Step]:
    """The transitions that bring an order in ``state`` in line with its plan, in order."""
    if state == OrderState.PENDING_CANCELLATION:
        if progress.open_items == 0:
            return [Step(OrderState.CANCELLED, "every item is closed or undone", final=True)]
        return []
    if state not in SETTLING_STATES:
        return []
    steps: list[Step] = []
    if state == OrderState.ACKNOWLEDGED and progress.started:
        steps.append(Step(OrderState.IN_PROGRESS, "fulfillment started"))
        state = OrderState.IN_PROGRESS
    if progress.open_items == 0:
        steps.append(Step(OrderState.COMPLETED, "every plan item is done", final=True))
    elif progress.in_fallout > 0:
        if state != OrderState.HELD:
            steps.append(Step(OrderState.HELD, "a plan item is in fallout"))
    elif state == OrderState.HELD:
        steps.append(Step(OrderState.IN_PROGRESS, "no plan item is in fallout any more"))
    return steps
