"""``/metrics``: Prometheus text format. This process's counters (HTTP requests; callouts,
claims and records of in-process workers), those of serve's worker processes (added up from
their multiprocess files: entrypoints/worker_processes.py), and the database's figures
(orders and items by state, fallout depth, queue lag, jeopardy), the latter computed at
scrape time by a few grouped queries."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ...adapters.store.metrics_queries import Figures, read_figures
from ...domain.breaker import BreakerState
from ...domain.lifecycle import OrderState

router = APIRouter(tags=["operations"])


class DatabaseFigures:
    """A Prometheus collector over figures read beforehand (the read runs in a thread)."""

    def __init__(self, figures: Figures, now: datetime, systems: tuple[str, ...] = ()):
        self.figures, self.now, self.systems = figures, now, systems

    def collect(self):
        f = self.figures
        orders = GaugeMetricFamily("ordertower_orders", "Orders by state.", labels=["state"])
        for state in OrderState:  # every state, zeros included, so a series never vanishes
            orders.add_metric([state.value], f.orders_by_state.get(state.value, 0))
        yield orders
        items = GaugeMetricFamily("ordertower_plan_items", "Plan items by state and system "
                                  "(system empty for items that call none).",
                                  labels=["state", "system"])
        for (state, system), n in sorted(f.items_by_state_and_system.items()):
            items.add_metric([state, system], n)
        yield items
        fallout = GaugeMetricFamily("ordertower_fallout_depth", "Plan items in the fallout "
                                    "queue, waiting for an operator.", labels=["system"])
        for system, n in sorted(f.fallout_by_system.items()):
            fallout.add_metric([system], n)
        yield fallout
        lag = 0.0 if f.oldest_due_since is None else \
            max((self.now - f.oldest_due_since).total_seconds(), 0.0)
        yield GaugeMetricFamily("ordertower_queue_lag_seconds", "Age of the oldest plan item "
                                "that is due and not yet claimed (0 when none waits).", value=lag)
        jeopardy = GaugeMetricFamily("ordertower_orders_in_jeopardy", "Open orders by jeopardy "
                                     "level.", labels=["level"])
        for level in ("GREEN", "YELLOW", "RED"):
            jeopardy.add_metric([level], f.open_orders_by_jeopardy.get(level, 0))
        yield jeopardy
        yield from self._systems()

    def _systems(self):
        """Each catalog system's availability: its circuit breaker (one series per state, 1 for
        the current one), its consecutive transport failures, and an operator's offline."""
        breaker = GaugeMetricFamily("ordertower_system_breaker_state", "Circuit breaker of each "
                                    "fulfillment system: 1 for its current state (closed, open, "
                                    "half-open), 0 for the others.", labels=["system", "state"])
        failures = GaugeMetricFamily("ordertower_system_consecutive_failures", "Consecutive "
                                     "transport failures the breaker has counted.", labels=["system"])
        offline = GaugeMetricFamily("ordertower_system_offline", "1 while an operator holds the "
                                    "system offline.", labels=["system"])
        for system in self.systems:
            manual, state, count = self.figures.systems.get(system, (False, "closed", 0))
            for s in BreakerState:
                breaker.add_metric([system, s.value], 1 if s.value == state else 0)
            failures.add_metric([system], count)
            offline.add_metric([system], 1 if manual else 0)
        yield breaker
        yield failures
        yield offline


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    container = request.app.state.container
    store = container.store
    now = datetime.now(timezone.utc)
    figures = await asyncio.to_thread(read_figures, store.engine, now)
    registry = CollectorRegistry(auto_describe=False)
    systems = tuple(s.id for s in container.catalogs.in_use.catalog.systems)  # on the loop: no poll
    registry.register(DatabaseFigures(figures, now, systems))
    children = getattr(request.app.state, "worker_processes", None)
    if children is not None:
        registry.register(ProcessesAndChildren(children.metrics_dir))
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class ProcessesAndChildren:
    """This process's instruments with its worker processes' samples added: a family the
    children counted (callouts, claims, records) keeps its name, help and type, and carries
    their samples, added up over every child that ever ran (a restarted one's too)."""

    def __init__(self, metrics_dir: str):
        self.metrics_dir = metrics_dir

    def collect(self):
        children = {}
        if os.path.isdir(self.metrics_dir):  # gone once serve has stopped its children
            children = {f.name: f for f in MultiProcessCollector(None, path=self.metrics_dir).collect()}
        for family in REGISTRY.collect():
            theirs = children.pop(family.name, None)
            if theirs is not None:
                family.samples = list(family.samples) + list(theirs.samples)
            yield family
        yield from children.values()
