"""The learning sweep: what the history says each scenario item takes on each system
(domain/service_levels.py), written for the orders planned next. Run by the workers every
``learn_seconds``; it reads completed items and writes only ``learned_durations`` (no order
or item is locked)."""

from __future__ import annotations

from ..domain.service_levels import WINDOW, learn
from .conflicts import retrying
from .ports import Store

# how many of the newest completions (all scenario items together) one sweep reads
SAMPLE_LIMIT = 100_000


@retrying
def learn_durations(store: Store, min_completions: int, *, window: int = WINDOW,
                    sample_limit: int = SAMPLE_LIMIT) -> int:
    """Learn the 80th percentile of each scenario item with at least ``min_completions``
    completions on a system; returns how many were learned."""
    with store.uow() as uow:
        found = learn(uow.service_levels.completions(sample_limit), min_completions, window)
        uow.service_levels.record(found, uow.clock.now())
        uow.commit()
    return len(found)
