"""Service levels (pure): when an order is expected done, and how long its items are learned
to take.

- **Expected completion.** An order placed at ``start`` is expected done when the later of
  these ends: the critical path of its plan (each item its expected duration, as the
  jeopardy projection counts it), and the ``lead_time`` of every product it holds (the
  commercial products of its items, the technical products of its lines). With neither an
  expected duration nor a lead time anywhere, there is no expected date.
- **Learned durations.** Once a scenario item (technical product, action, item id) has
  completed ``min_completions`` times on a system, its expected duration there is the 80th
  percentile of the durations of its newest ``WINDOW`` completions (first start to finish).
  A duration configured in the catalog (``expected_duration``) wins; a learned one fills in
  only where none is configured.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .jeopardy import projected_completion

PERCENTILE = 80
WINDOW = 1000  # the newest completions of a scenario item that are learned from
DEFAULT_MIN_COMPLETIONS = 50


@dataclass(frozen=True, order=True)
class StepKey:
    """A scenario item on a system ('' for items of no system)."""

    technical_product: str
    action: str
    step_id: str
    system: str


@dataclass(frozen=True)
class Learned:
    key: StepKey
    completions: int
    p80_s: float


def percentile(values: list[float], pct: int = PERCENTILE) -> float:
    """The ``pct``-th percentile, interpolated between the closest ranks (inclusive)."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def learn(samples: Iterable[tuple[StepKey, float]], min_completions: int,
          window: int = WINDOW) -> list[Learned]:
    """``samples``: (scenario item, seconds) of completions, newest first. The scenario items
    with at least ``min_completions`` of them, each with the percentile of its newest
    ``window``."""
    by_key: dict[StepKey, list[float]] = {}
    for key, seconds in samples:
        durations = by_key.setdefault(key, [])
        if len(durations) < window:
            durations.append(max(seconds, 0.0))
    return [Learned(key, len(d), percentile(d)) for key, d in sorted(by_key.items())
            if len(d) >= max(min_completions, 1)]


def effective_duration(configured_s: float | None, learned_s: float | None) -> float | None:
    """The expected duration an item is planned with: configured wins, else the learned one."""
    return configured_s if configured_s is not None else learned_s


def expected_completion(items: list[dict[str, Any]], lead_times: Iterable[timedelta],
                        start: datetime) -> datetime | None:
    """``items``: the plan (``key``, ``depends_on``, ``expected_duration_s``, ``state``) as
    planned at ``start``. The later of the critical path's end and the longest lead time;
    None when nothing says how long anything takes."""
    leads = [lead for lead in lead_times if lead is not None]
    if not leads and not any(i.get("expected_duration_s") for i in items):
        return None
    path_end = projected_completion(items, start)
    return max([path_end, *(start + lead for lead in leads)])


def due_date(requested: datetime | None, expected: datetime | None) -> datetime | None:
    """What jeopardy counts against: the customer's requested date, else the expected one."""
    return requested if requested is not None else expected


def apply_learned(plan_items: Iterable[Any], lines: Iterable[Any],
                  learned: dict[StepKey, Learned]) -> None:
    """Give each planned item (domain/planning.PlannedItem) with no configured expected
    duration the one learned for its scenario item on its system, if any."""
    if not learned:
        return
    of_line = {line.id: (line.technical_product, line.action) for line in lines}
    for item in plan_items:
        if item.expected_duration_s is not None or item.line_id not in of_line:
            continue
        product, action = of_line[item.line_id]
        found = learned.get(StepKey(product, action, item.step_id, item.system or ""))
        if found is not None:
            item.expected_duration_s = found.p80_s


def lead_times(catalog: Any, offering_ids: Iterable[str | None],
               technical_products: Iterable[str]) -> list[timedelta]:
    """The lead times of the commercial and technical products an order holds."""
    out = []
    for offering in set(offering_ids):
        product = catalog.product_by_id.get(offering) if offering else None
        if product is not None and product.lead_time is not None:
            out.append(product.lead_time)
    for technical in set(technical_products):
        product = catalog.technical_by_id.get(technical)
        if product is not None and product.lead_time is not None:
            out.append(product.lead_time)
    return out


def planned_rows(plan_items: Iterable[Any]) -> list[dict[str, Any]]:
    """A new plan's items as the projection reads them (skipped ones take no time)."""
    return [{"key": i.key, "depends_on": i.depends_on, "expected_duration_s": i.expected_duration_s,
             "state": "skipped" if i.skip_reason else "pending", "started_at": None}
            for i in plan_items]
