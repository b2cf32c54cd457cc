"""Retry back-off (pure): when the next attempt of a failed item may start."""

from __future__ import annotations

import random
from datetime import timedelta

from .catalog import RetryPolicy


def attempts_left(policy: RetryPolicy | None, attempts_made: int) -> bool:
    if policy is None or policy.strategy == "none":
        return False
    return attempts_made < policy.max_attempts


def next_delay(policy: RetryPolicy, attempts_made: int, rng: random.Random | None = None,
               retry_after: float | None = None) -> timedelta:
    """The wait before attempt ``attempts_made + 1``.

    fixed: ``interval`` every time; staggered: the n-th of ``intervals`` (the last repeats);
    exponential: ``initial * factor**(n-1)``, capped, with +/- ``jitter`` spread.
    A server's ``Retry-After`` (seconds) is honoured when it asks for longer.
    """
    n = max(attempts_made, 1)
    if policy.strategy == "fixed":
        delay = (policy.interval or timedelta(0)).total_seconds()
    elif policy.strategy == "staggered":
        intervals = policy.intervals or (timedelta(0),)
        delay = intervals[min(n - 1, len(intervals) - 1)].total_seconds()
    elif policy.strategy == "exponential":
        delay = min(policy.initial.total_seconds() * policy.factor ** (n - 1), policy.cap.total_seconds())
        if policy.jitter:
            spread = delay * policy.jitter
            delay += (rng or random).uniform(-spread, spread)
    else:
        delay = 0.0
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=max(delay, 0.0))
