"""``/metrics``: Prometheus text format. This process's counters (callouts, claims, records,
HTTP requests) and the database's figures (orders and items by state, fallout depth, queue
lag, jeopardy), the latter computed at scrape time by a few grouped queries."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ...adapters.store.metrics_queries import Figures, read_figures
from ...domain.lifecycle import OrderState

router = APIRouter(tags=["operations"])


class DatabaseFigures:
    """A Prometheus collector over figures read beforehand (the read runs in a thread)."""

    def __init__(self, figures: Figures, now: datetime):
        self.figures, self.now = figures, now

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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    store = request.app.state.container.store
    now = datetime.now(timezone.utc)
    figures = await asyncio.to_thread(read_figures, store.engine, now)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseFigures(figures, now))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)



