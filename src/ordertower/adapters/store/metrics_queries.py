"""The figures ``/metrics`` reads from the database at scrape time: one grouped query each
(served by an index), never rows loaded into Python. Every API node reports the same truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ...domain.jeopardy import GREEN
from ...domain.lifecycle import FINAL_ORDER_STATES, ItemState
from .tables import orders, plan_items, system_states


@dataclass(frozen=True)
class Figures:
    orders_by_state: dict[str, int]
    items_by_state_and_system: dict[tuple[str, str], int]
    fallout_by_system: dict[str, int]
    open_orders_by_jeopardy: dict[str, int]
    oldest_due_since: datetime | None  # when the longest-waiting claimable item became due
    # system -> (manually offline, breaker state, consecutive transport failures); systems
    # without a state row are online with a closed breaker
    systems: dict[str, tuple[bool, str, int]] = field(default_factory=dict)


def read_figures(engine: Engine, now: datetime) -> Figures:
    due_since = sa.case(
        (plan_items.c.state == ItemState.READY.value,
         sa.func.coalesce(plan_items.c.not_before, plan_items.c.updated_at)),
        else_=plan_items.c.not_before)
    with engine.connect().execution_options(readonly=True) as conn:
        by_order_state = conn.execute(
            sa.select(orders.c.state, sa.func.count()).group_by(orders.c.state)).all()
        by_item = conn.execute(
            sa.select(plan_items.c.state, plan_items.c.system, sa.func.count())
            .group_by(plan_items.c.state, plan_items.c.system)).all()
        by_jeopardy = conn.execute(
            sa.select(orders.c.jeopardy, sa.func.count())
            .where(orders.c.state.not_in([str(s) for s in FINAL_ORDER_STATES]))
            .group_by(orders.c.jeopardy)).all()
        oldest = conn.execute(
            sa.select(sa.func.min(due_since))
            .where(plan_items.c.state.in_([ItemState.READY.value, ItemState.RETRYING.value]),
                   sa.or_(plan_items.c.not_before.is_(None), plan_items.c.not_before <= now))
        ).scalar_one_or_none()
        states = conn.execute(sa.select(system_states.c.system, system_states.c.offline,
                                        system_states.c.breaker_state,
                                        system_states.c.breaker_failures)).all()
        conn.rollback()
    items = {(state, sys or ""): n for state, sys, n in by_item}
    jeopardy: dict[str, int] = {}
    for level, n in by_jeopardy:  # an order not yet assessed counts as GREEN
        jeopardy[level or GREEN] = jeopardy.get(level or GREEN, 0) + n
    fallout = {sys: n for (state, sys), n in items.items() if state == ItemState.FALLOUT.value}
    if isinstance(oldest, str):  # SQLite computes the CASE as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return Figures(dict(by_order_state), items, fallout, jeopardy, oldest,
                   {sys: (bool(off), state, failures) for sys, off, state, failures in states})
