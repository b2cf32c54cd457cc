"""Use cases: the jeopardy queue (open orders in jeopardy, worst first, with their late items)
and the service levels (each product's lead time; each scenario item's configured and learned
expected duration, and the one new orders are planned with)."""

from __future__ import annotations

from typing import Any

from ..domain.catalog import Catalog
from ..domain.service_levels import PERCENTILE, StepKey, due_date, effective_duration
from ..engine.ports import Store

LEVELS = ("YELLOW", "RED")


def jeopardy_queue(store: Store, level: str | None, offset: int, limit: int
                   ) -> tuple[list[dict[str, Any]], int]:
    """A page of open orders in jeopardy (``level``: only those; None: YELLOW and RED), RED
    first then the earliest due, each with its items in jeopardy and its due date."""
    with store.read() as uow:
        rows, total = uow.service_levels.jeopardy_queue((level,) if level else LEVELS, offset, limit)
        items = uow.service_levels.jeopardy_items([r["id"] for r in rows])
    by_order: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_order.setdefault(item["order_id"], []).append(item)
    for row in rows:
        row["due"] = due_date(row["requested_completion_date"], row["expected_completion_date"])
        row["items"] = by_order.get(row["id"], [])
    return rows, total


def service_levels(store: Store, catalog: Catalog, learn_after: int) -> dict[str, Any]:
    """What the catalog promises and what the history has taught."""
    with store.read() as uow:
        learned = uow.service_levels.learned()
    products = [{"id": p.id, "kind": kind, "lead_time_s": p.lead_time.total_seconds()}
                for kind, group in (("commercial", catalog.products),
                                    ("technical", catalog.technical_products))
                for p in group if p.lead_time is not None]
    items = []
    for scenario in catalog.scenarios:
        for s_item in scenario.items:
            key = StepKey(scenario.product, scenario.action, s_item.id, s_item.system or "")
            found = learned.get(key)
            configured = s_item.expected_duration.total_seconds() if s_item.expected_duration else None
            learned_s = found.p80_s if found else None
            items.append({
                "product": scenario.product, "action": scenario.action, "item": s_item.id,
                "system": s_item.system, "configured_s": configured, "learned_s": learned_s,
                "completions": found.completions if found else None,
                "expected_s": effective_duration(configured, learned_s),
                "source": "configured" if configured is not None
                else "learned" if learned_s is not None else None})
    return {"percentile": PERCENTILE, "learn_after": learn_after, "products": products,
            "items": items}
