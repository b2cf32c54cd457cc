"""A plan about to be stored: each planned item with its id, its place in the order, and the
state it starts in. One rule for the starting state, whoever stores the plan (placing an
order, a worker planning a large one, a revision planning new work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import AbstractSet

from .lifecycle import ItemState
from .planning import PlannedItem


def initial_state(planned: PlannedItem, open_dependencies: int,
                  offline_systems: AbstractSet[str]) -> ItemState:
    """``skipped`` when its condition was false; else ``pending`` while a dependency is open;
    else ``onHold`` when its system is offline; else ``ready``."""
    if planned.skip_reason:
        return ItemState.SKIPPED
    if open_dependencies:
        return ItemState.PENDING
    if planned.system in offline_systems:
        return ItemState.ON_HOLD
    return ItemState.READY


@dataclass(frozen=True)
class NewPlanItem:
    id: str
    planned: PlannedItem
    revision: int
    position: int
    state: ItemState
    pending_deps: int
    not_before: datetime | None = None  # the order's requested start

    @classmethod
    def start(cls, planned: PlannedItem, *, id: str, revision: int, position: int,
              open_dependencies: int, offline_systems: AbstractSet[str],
              not_before: datetime | None = None) -> "NewPlanItem":
        return cls(id, planned, revision, position,
                   initial_state(planned, open_dependencies, offline_systems),
                   open_dependencies, not_before)
