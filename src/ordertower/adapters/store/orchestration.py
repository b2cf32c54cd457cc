"""Repositories of orchestration: callback tokens, tasks and queues, operator actions,
system states. Rows come back as plain dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .tables import (callback_tokens, cancel_requests, operator_actions, order_revisions, plan_items,
                     queue_cursors, system_states, tasks)


def _one(conn: Connection, query) -> dict[str, Any] | None:
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


# the advisory lock of claims that count per-system capacity (any fixed 64-bit number)
CAPACITY_LOCK = 0x6F72_6465_7274_0001

class OrchestrationRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    # --- callback tokens ----------------------------------------------------------------
    def add_token(self, row: dict[str, Any]) -> None:
        self.conn.execute(callback_tokens.insert().values(interim_count=0, **row))

    def token(self, token_hash: str, *, for_update: bool = False) -> dict[str, Any] | None:
        q = sa.select(callback_tokens).where(callback_tokens.c.token_hash == token_hash)
        return _one(self.conn, q.with_for_update() if for_update else q)

    def token_for(self, item_id: str, attempt: int) -> dict[str, Any] | None:
        return _one(self.conn, sa.select(callback_tokens).where(
            callback_tokens.c.item_id == item_id, callback_tokens.c.attempt == attempt))

    def update_token(self, token_hash: str, **values: Any) -> None:
        self.conn.execute(callback_tokens.update().where(callback_tokens.c.token_hash == token_hash)
                          .values(**values))

    # --- tasks --------------------------------------------------------------------------
    def add_task(self, row: dict[str, Any]) -> None:
        self.conn.execute(tasks.insert().values(**row))

    def task(self, task_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        q = sa.select(tasks).where(tasks.c.id == task_id)
        return _one(self.conn, q.with_for_update() if for_update else q)

    def task_for_item(self, item_id: str) -> dict[str, Any] | None:
        return _one(self.conn, sa.select(tasks).where(tasks.c.item_id == item_id,
                                                      tasks.c.state.in_(["open", "claimed"])))

    def update_task(self, task_id: str, expected_state: str | None = None, **values: Any) -> bool:
        q = tasks.update().where(tasks.c.id == task_id)
        if expected_state is not None:
            q = q.where(tasks.c.state == expected_state)
        return self.conn.execute(q.values(**values)).rowcount == 1

    def list_tasks(self, queue: str | None, state: str | None, assignee: str | None) -> list[dict]:
        q = sa.select(tasks)
        if queue:
            q = q.where(tasks.c.queue == queue)
        if state:
            q = q.where(tasks.c.state == state)
        if assignee:
            q = q.where(tasks.c.assignee == assignee)
        return [dict(r) for r in self.conn.execute(q.order_by(tasks.c.created_at, tasks.c.id)).mappings()]

    def last_task_of(self, order_id: str, key: str) -> dict[str, Any] | None:
        """The newest task of the order's plan items with this key (any revision): what an
        earlier revision's same step left behind."""
        return _one(self.conn, sa.select(tasks).join(plan_items, plan_items.c.id == tasks.c.item_id)
                    .where(tasks.c.order_id == order_id, plan_items.c.order_id == order_id,
                           plan_items.c.key == key, tasks.c.kind == "item")
                    .order_by(tasks.c.created_at.desc(), tasks.c.id.desc()).limit(1))

    def open_tasks_by_member(self, queue: str) -> dict[str, int]:
        rows = self.conn.execute(sa.select(tasks.c.assignee, sa.func.count()).where(
            tasks.c.queue == queue, tasks.c.state.in_(["open", "claimed"]),
            tasks.c.assignee.is_not(None)).group_by(tasks.c.assignee)).all()
        return {r[0]: r[1] for r in rows}

    def next_cursor(self, queue: str) -> int:
        """The queue's round-robin position, locked until commit: task creation in one queue
        is serialised, so round-robin and least-loaded see every earlier assignment."""
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(insert(queue_cursors).values(queue=queue, position=0).on_conflict_do_nothing())
        return self.conn.execute(sa.select(queue_cursors.c.position)
                                 .where(queue_cursors.c.queue == queue).with_for_update()).scalar_one()

    def save_cursor(self, queue: str, position: int) -> None:
        self.conn.execute(queue_cursors.update().where(queue_cursors.c.queue == queue)
                          .values(position=position))

    # --- operator actions (audit) ---------------------------------------------------------
    def action(self, dedupe_key: str) -> dict[str, Any] | None:
        return _one(self.conn, sa.select(operator_actions).where(operator_actions.c.dedupe_key == dedupe_key))

    def add_action(self, row: dict[str, Any]) -> None:
        self.conn.execute(operator_actions.insert().values(**row))

    def actions_for(self, *, item_id: str | None = None, order_id: str | None = None) -> list[dict]:
        q = sa.select(operator_actions)
        if item_id:
            q = q.where(operator_actions.c.item_id == item_id)
        if order_id:
            q = q.where(operator_actions.c.order_id == order_id)
        return [dict(r) for r in self.conn.execute(q.order_by(operator_actions.c.created_at)).mappings()]

    # --- systems --------------------------------------------------------------------------
    def lock_capacity(self) -> None:
        """Claims that count the items running per system (to keep concurrency limits) take
        this lock first, for the rest of their transaction, so two processes never both see
        the same free place. PostgreSQL: a transaction-scoped advisory lock, which nothing
        else takes (no lock order to keep); SQLite: every write transaction is already alone
        (``BEGIN IMMEDIATE``)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CAPACITY_LOCK})

    def offline_systems(self) -> set[str]:
        """Systems whose items are held: marked offline by an operator, or whose circuit
        breaker is open or half-open (domain/breaker.py)."""
        return set(self.conn.execute(sa.select(system_states.c.system).where(sa.or_(
            system_states.c.offline.is_(True),
            system_states.c.breaker_state != "closed"))).scalars())

    def system_states(self) -> dict[str, dict[str, Any]]:
        return {r["system"]: dict(r) for r in self.conn.execute(sa.select(system_states)).mappings()}

    def set_system_state(self, system: str, offline: bool, reason: str | None, actor: str,
                         now: datetime) -> None:
        """Insert or update the system's row in one statement (two operators switching a
        system for the first time at once must not both insert)."""
        values: dict[str, Any] = {"offline": offline, "reason": reason, "changed_by": actor,
                                  "changed_at": now}
        if not offline:  # an operator's online vouches for the system: its breaker closes too
            values |= BREAKER_CLOSED | {"breaker_changed_at": now}
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(system_states).values(system=system, **values)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=[system_states.c.system],
                                                     set_=values))

    # --- circuit breakers (domain/breaker.py, engine/breaker.py) ----------------------------
    def breaker(self, system: str, *, for_update: bool = False,
                skip_locked: bool = False) -> dict[str, Any] | None:
        """The system's state row (its breaker and manual ``offline``), or None if it has none;
        locked with ``for_update`` (after the order and items: engine/locks.py)."""
        q = sa.select(system_states).where(system_states.c.system == system)
        if for_update:
            q = q.with_for_update(skip_locked=skip_locked)
        return _one(self.conn, q)

    def breakers_to_watch(self) -> list[dict[str, Any]]:
        """State rows whose breaker is not closed, or counts failures."""
        q = sa.select(system_states).where(sa.or_(system_states.c.breaker_state != "closed",
                                                  system_states.c.breaker_failures > 0))
        return [dict(r) for r in self.conn.execute(q.order_by(system_states.c.system)).mappings()]

    def ensure_system_row(self, system: str, now: datetime) -> None:
        """The system's state row exists (online, breaker closed) when this returns."""
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(insert(system_states).values(
            system=system, offline=False, changed_at=now).on_conflict_do_nothing(
            index_elements=[system_states.c.system]))

    def save_breaker(self, system: str, values: dict[str, Any]) -> None:
        """Write the breaker columns (``breaker_*``) of an existing, locked state row."""
        self.conn.execute(system_states.update().where(system_states.c.system == system)
                          .values(**values))


class ChangeRepository:
    """Revisions (supplemental orders) and cancellation requests."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def add_revision(self, row: dict[str, Any]) -> None:
        self.conn.execute(order_revisions.insert().values(**row))

    def revision(self, revision_id: str) -> dict[str, Any] | None:
        return _one(self.conn, sa.select(order_revisions).where(order_revisions.c.id == revision_id))

    def revisions(self, order_id: str, status: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(order_revisions).where(order_revisions.c.order_id == order_id)
        if status:
            q = q.where(order_revisions.c.status == status)
        return [dict(r) for r in self.conn.execute(q.order_by(order_revisions.c.number,
                                                              order_revisions.c.created_at)).mappings()]

    def decide_revision(self, revision_id: str, status: str, now: datetime, **values: Any) -> None:
        self.conn.execute(order_revisions.update().where(order_revisions.c.id == revision_id)
                          .values(status=status, decided_at=now, **values))

    def add_cancel(self, row: dict[str, Any]) -> None:
        self.conn.execute(cancel_requests.insert().values(**row))

    def cancel(self, cancel_id: str) -> dict[str, Any] | None:
        return _one(self.conn, sa.select(cancel_requests).where(cancel_requests.c.id == cancel_id))

    def cancels(self, order_id: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(cancel_requests)
        if order_id:
            q = q.where(cancel_requests.c.order_id == order_id)
        if state:
            q = q.where(cancel_requests.c.state == state)
        return [dict(r) for r in self.conn.execute(q.order_by(cancel_requests.c.created_at)).mappings()]

    def update_cancel(self, cancel_id: str, **values: Any) -> None:
        self.conn.execute(cancel_requests.update().where(cancel_requests.c.id == cancel_id).values(**values))


BREAKER_CLOSED: dict[str, Any] = {"breaker_state": "closed", "breaker_failures": 0,
                                  "breaker_opened_at": None, "breaker_probe_until": None,
                                  "breaker_trial_item": None}
