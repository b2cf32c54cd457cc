"""The console's work pages read these: one grouped query each, served by an index, never
rows loaded into Python to be counted.

- ``fallout_groups``: the fallout queue grouped by error (``plan_items.state`` is indexed;
  the queue is the few items in fallout, not the plan).
- ``system_activity``: callout attempts per fulfillment system since a time, by outcome
  (``item_attempts.started_at`` is indexed, migration 0011; each attempt finds its item by
  primary key)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .repositories import in_fallout_where
from .tables import item_attempts, plan_items


class ConsoleQueryRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def fallout_groups(self, system: str | None = None, error: str | None = None,
                       before: datetime | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
        """Items in fallout per error (the same filters as the queue): error, count, the
        oldest and newest ``finished_at``, the systems; most frequent first."""
        q = in_fallout_where(sa.select(plan_items.c.last_error, sa.func.count().label("count"),
                                       sa.func.min(plan_items.c.finished_at).label("oldest"),
                                       sa.func.max(plan_items.c.finished_at).label("newest")),
                             system, error, before, order_id)
        q = q.group_by(plan_items.c.last_error).order_by(sa.desc("count"), plan_items.c.last_error)
        groups = [{"error": r.last_error or "", "count": r.count, "oldest": r.oldest, "newest": r.newest}
                  for r in self.conn.execute(q)]
        for g in groups:  # SQLite gives min/max of a datetime column back as text
            for k in ("oldest", "newest"):
                if isinstance(g[k], str):
                    g[k] = datetime.fromisoformat(g[k])
                if g[k] is not None and g[k].tzinfo is None:
                    g[k] = g[k].replace(tzinfo=timezone.utc)
        return groups

    def system_activity(self, since: datetime) -> dict[str, dict[str, int]]:
        """Callout attempts started at or after ``since``, per system and outcome
        (``ok``, ``retryable``, ``fatal``)."""
        q = (sa.select(plan_items.c.system, item_attempts.c.outcome, sa.func.count())
             .select_from(item_attempts.join(plan_items, plan_items.c.id == item_attempts.c.item_id))
             .where(item_attempts.c.started_at >= since, plan_items.c.system.is_not(None))
             .group_by(plan_items.c.system, item_attempts.c.outcome))
        out: dict[str, dict[str, int]] = {}
        for system, outcome, n in self.conn.execute(q):
            out.setdefault(system, {})[outcome] = n
        return out
