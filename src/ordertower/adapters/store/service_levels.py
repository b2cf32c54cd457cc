"""Service levels in the store: the durations learned from history (``learned_durations``),
the completions they are learned from, and the jeopardy queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ...domain.service_levels import Learned, StepKey
from .tables import fulfillment_lines as lines
from .tables import learned_durations as learned
from .tables import orders, plan_items as items

OPEN_STATES = ("acknowledged", "inProgress", "held")


class ServiceLevelRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def learned(self) -> dict[StepKey, Learned]:
        rows = self.conn.execute(sa.select(learned)).mappings()
        return {key: Learned(key, r["completions"], r["p80_s"]) for r in rows
                for key in [StepKey(r["technical_product"], r["action"], r["step_id"], r["system"])]}

    def completions(self, limit: int) -> list[tuple[StepKey, float]]:
        """The newest ``limit`` completed scenario items (of every order) with how long each
        took from its first start to its finish, newest first."""
        q = (sa.select(lines.c.technical_product, lines.c.action, items.c.step_id, items.c.system,
                       items.c.started_at, items.c.finished_at)
             .join(lines, sa.and_(lines.c.order_id == items.c.order_id,
                                  lines.c.revision == items.c.revision,
                                  lines.c.line_id == items.c.line_id))
             .where(items.c.state == "completed", items.c.started_at.is_not(None),
                    items.c.finished_at.is_not(None))
             .order_by(items.c.finished_at.desc()).limit(limit))
        return [(StepKey(r.technical_product, r.action, r.step_id, r.system or ""),
                 (r.finished_at - r.started_at).total_seconds()) for r in self.conn.execute(q)]

    def record(self, found: list[Learned], now: datetime) -> None:
        """Write what was learned (one row per scenario item and system; any number of
        workers may do so at once: the last write wins)."""
        if not found:
            return
        insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        for item in found:
            k = item.key
            stmt = insert(learned).values(technical_product=k.technical_product, action=k.action,
                                          step_id=k.step_id, system=k.system,
                                          completions=item.completions, p80_s=item.p80_s,
                                          learned_at=now)
            self.conn.execute(stmt.on_conflict_do_update(
                index_elements=["technical_product", "action", "step_id", "system"],
                set_={"completions": stmt.excluded.completions, "p80_s": stmt.excluded.p80_s,
                      "learned_at": stmt.excluded.learned_at}))

    def jeopardy_queue(self, levels: tuple[str, ...], offset: int, limit: int
                       ) -> tuple[list[dict[str, Any]], int]:
        """Open orders at one of ``levels``: RED first, then the earliest due."""
        where = (orders.c.state.in_(OPEN_STATES), orders.c.jeopardy.in_(levels))
        total = self.conn.execute(sa.select(sa.func.count()).select_from(orders)
                                  .where(*where)).scalar_one()
        due = sa.func.coalesce(orders.c.requested_completion_date, orders.c.expected_completion_date)
        q = (sa.select(orders.c.id, orders.c.external_id, orders.c.state, orders.c.customer_id,
                       orders.c.jeopardy, orders.c.requested_completion_date,
                       orders.c.expected_completion_date, orders.c.projected_completion,
                       orders.c.created_at, orders.c.updated_at)
             .where(*where)
             .order_by(sa.case((orders.c.jeopardy == "RED", 0), else_=1),
                       due.is_(None), due, orders.c.created_at, orders.c.id)
             .offset(offset).limit(limit))
        return [dict(r) for r in self.conn.execute(q).mappings()], total

    def jeopardy_items(self, order_ids: list[str]) -> list[dict[str, Any]]:
        """The items in jeopardy of these orders (their current revision)."""
        if not order_ids:
            return []
        q = (sa.select(items.c.id, items.c.order_id, items.c.key, items.c.name, items.c.state,
                       items.c.system, items.c.jeopardy, items.c.expected_duration_s,
                       items.c.started_at)
             .join(orders, sa.and_(orders.c.id == items.c.order_id,
                                   orders.c.revision == items.c.revision))
             .where(items.c.order_id.in_(order_ids), items.c.jeopardy.in_(("YELLOW", "RED")))
             .order_by(items.c.order_id, items.c.position))
        return [dict(r) for r in self.conn.execute(q).mappings()]
