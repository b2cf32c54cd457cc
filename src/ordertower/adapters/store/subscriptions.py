"""Hub listeners (``event_subscriptions``): registration, and the dispatcher's queue.

A listener is claimed like a plan item: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (under
``BEGIN IMMEDIATE`` on SQLite), with ``lease_owner`` / ``lease_until``; whoever holds the
lease delivers its events one after the other and moves its cursor (``last_event_id``) after
each delivery, only while it still holds the lease. A dispatcher that dies stops renewing;
its lease expires and any other dispatcher carries on from the cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import event_subscriptions as subs
from .tables import events


class SubscriptionRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    # --- registration -----------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> None:
        self.conn.execute(subs.insert().values(
            status="active", failures=0, delivered=0, **row))

    def get(self, sub_id: str, api: str | None = None) -> dict[str, Any] | None:
        q = sa.select(subs).where(subs.c.id == sub_id)
        if api is not None:
            q = q.where(subs.c.api == api)
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def list(self, api: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(subs).where(subs.c.api == api)
                                 .order_by(subs.c.created_at, subs.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def delete(self, sub_id: str, api: str) -> bool:
        return self.conn.execute(subs.delete().where(subs.c.id == sub_id, subs.c.api == api)).rowcount == 1

    def top_event_id(self) -> int:
        return self.conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar_one()

    def backlog(self, row: dict[str, Any], kinds: Iterable[str]) -> int:
        """Events after the cursor that may concern the listener (by kind and order)."""
        q = sa.select(sa.func.count()).select_from(events).where(
            events.c.id > row["last_event_id"], events.c.type.in_(list(kinds)))
        order_ids = (row["filter"] or {}).get("order_ids")
        if order_ids:
            q = q.where(events.c.order_id.in_(order_ids))
        return self.conn.execute(q).scalar_one()

    # --- the dispatcher's queue --------------------------------------------------------------

    def _due(self, now: datetime, horizon: int):
        return sa.and_(subs.c.last_event_id < horizon,
                       sa.or_(subs.c.next_attempt_at.is_(None), subs.c.next_attempt_at <= now),
                       sa.or_(subs.c.lease_until.is_(None), subs.c.lease_until < now))

    def any_due(self, now: datetime, horizon: int) -> bool:
        return self.conn.execute(sa.select(subs.c.id).where(self._due(now, horizon)).limit(1)).first() is not None

    def claim(self, owner: str, limit: int, now: datetime, lease_until: datetime,
              horizon: int, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Lease up to ``limit`` listeners that have events to hear and may be tried now."""
        q = sa.select(subs.c.id).where(self._due(now, horizon))
        excluded = list(exclude)
        if excluded:
            q = q.where(subs.c.id.not_in(excluded))
        q = q.order_by(sa.func.coalesce(subs.c.next_attempt_at, subs.c.created_at), subs.c.id)
        ids = list(self.conn.execute(q.limit(limit).with_for_update(skip_locked=True)).scalars())
        if not ids:
            return []
        self.conn.execute(subs.update().where(subs.c.id.in_(ids)).values(
            lease_owner=owner, lease_until=lease_until))
        rows = self.conn.execute(sa.select(subs).where(subs.c.id.in_(ids))).mappings().all()
        return [dict(r) for r in rows]

    def _held(self, sub_id: str, owner: str):
        return subs.update().where(subs.c.id == sub_id, subs.c.lease_owner == owner)

    def renew(self, sub_id: str, owner: str, lease_until: datetime) -> bool:
        return self.conn.execute(self._held(sub_id, owner).values(lease_until=lease_until)).rowcount == 1

    def delivered(self, sub_id: str, owner: str, event_id: int, now: datetime,
                  lease_until: datetime) -> bool:
        """An event reached the listener: the cursor moves past it, the failures are over."""
        return self.conn.execute(self._held(sub_id, owner).values(
            last_event_id=event_id,
            delivered=subs.c.delivered + 1, last_delivered_at=now, status="active", failures=0,
            failing_since=None, next_attempt_at=None, lease_until=lease_until,
            updated_at=now)).rowcount == 1

    def passed(self, sub_id: str, owner: str, event_id: int, now: datetime) -> bool:
        """Nothing up to ``event_id`` concerns the listener (any more): the cursor moves on."""
        return self.conn.execute(self._held(sub_id, owner).where(subs.c.last_event_id < event_id)
                                 .values(last_event_id=event_id, updated_at=now)).rowcount == 1

    def failed(self, sub_id: str, owner: str, *, failures: int, failing_since: datetime,
               status: str, error: str, now: datetime, next_attempt_at: datetime) -> bool:
        """A try failed: back off until ``next_attempt_at``, lease given up."""
        return self.conn.execute(self._held(sub_id, owner).values(
            failures=failures, failing_since=failing_since, status=status, last_error=error[:2000],
            last_attempt_at=now, next_attempt_at=next_attempt_at, lease_owner=None,
            lease_until=None, updated_at=now)).rowcount == 1

    def holds(self, sub_id: str, owner: str) -> bool:
        return self.conn.execute(sa.select(subs.c.id).where(
            subs.c.id == sub_id, subs.c.lease_owner == owner)).first() is not None

    def release_all(self, owner: str) -> int:
        return self.conn.execute(subs.update().where(subs.c.lease_owner == owner).values(
            lease_owner=None, lease_until=None)).rowcount

    def release(self, sub_id: str, owner: str) -> bool:
        return self.conn.execute(self._held(sub_id, owner).values(
            lease_owner=None, lease_until=None)).rowcount == 1
