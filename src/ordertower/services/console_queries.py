"""Read-side use cases of the console's work pages: the fallout queue grouped by error, and
each fulfillment system's throughput and error rate over a recent window. Read-only
transactions; the counting is done by the database (adapters/store/console_queries.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..engine.ports import Store

ACTIVITY_WINDOW = timedelta(hours=1)


def fallout_groups(store: Store, system: str | None = None, error: str | None = None,
                   older_than_s: float | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
    """Items in fallout per error, most frequent first, with the same filters as the queue."""
    with store.read() as uow:
        before = uow.clock.now() - timedelta(seconds=older_than_s) if older_than_s is not None else None
        return uow.console.fallout_groups(system, error, before, order_id)


def system_activity(store: Store, systems: list[str],
                    window: timedelta = ACTIVITY_WINDOW) -> dict[str, dict[str, Any]]:
    """Per system (every one named, active or not): callout attempts started in the last
    ``window``, how many succeeded (answered, or accepted for a callback), failed (retryable
    or fatal), the throughput (successful attempts per minute) and the error rate (failed / attempts; None without attempts)."""
    with store.read() as uow:
        counts = uow.console.system_activity(uow.clock.now() - window)
    minutes = window.total_seconds() / 60
    out = {}
    for system in systems:
        by_outcome = counts.get(system, {})
        attempts = sum(by_outcome.values())
        failed = by_outcome.get("retryable", 0) + by_outcome.get("fatal", 0)
        ok = attempts - failed  # answered (``ok``), or accepted for a later callback (``waiting``)
        out[system] = {"attempts": attempts, "ok": ok, "failed": failed,
                       "per_minute": ok / minutes if minutes else 0.0,
                       "error_rate": failed / attempts if attempts else None,
                       "window_s": window.total_seconds()}
    return out
