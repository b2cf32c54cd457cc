"""People (table ``queue_members``, and the users named by ``api_keys``) and fallout work
(tables ``fallout_assignments``, ``fallout_rules``). Rows come back as plain dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from .tables import api_keys, fallout_assignments, fallout_rules, queue_members


class PeopleRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def _insert(self):
        return pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert

    # --- users: the names of keys not revoked --------------------------------------------
    def users(self) -> list[dict[str, Any]]:
        """Every user (the name of a key not revoked), with its role and queues."""
        rows = self.conn.execute(sa.select(api_keys.c.name, api_keys.c.role, api_keys.c.created_at)
                                 .where(api_keys.c.revoked_at.is_(None))
                                 .order_by(api_keys.c.name)).mappings()
        queues = self.queues_by_member()
        return [{"name": r["name"], "role": r["role"], "created_at": r["created_at"],
                 "queues": queues.get(r["name"], [])} for r in rows]

    def user(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(api_keys.c.name, api_keys.c.role, api_keys.c.created_at)
                                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                                ).mappings().first()
        if row is None:
            return None
        return {"name": row["name"], "role": row["role"], "created_at": row["created_at"],
                "queues": self.queues_of(name)}

    # --- queue membership -----------------------------------------------------------------
    def seed_members(self, queue: str, members: Iterable[str], now: datetime) -> int:
        """Add the catalog's members never seen before (a member removed stays removed)."""
        added = 0
        for member in members:
            stmt = self._insert()(queue_members).values(
                queue=queue, member=member, source="catalog", added_by="catalog", added_at=now)
            added += self.conn.execute(stmt.on_conflict_do_nothing()).rowcount or 0
        return added

    def add_member(self, queue: str, member: str, actor: str, now: datetime) -> bool:
        """Make ``member`` a member of ``queue``; False when it already is."""
        row = self.conn.execute(sa.select(queue_members.c.removed_at).where(
            queue_members.c.queue == queue, queue_members.c.member == member).with_for_update()).first()
        if row is not None and row.removed_at is None:
            return False
        values = {"source": "api", "added_by": actor, "added_at": now, "removed_at": None}
        stmt = self._insert()(queue_members).values(queue=queue, member=member, **values)
        self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[queue_members.c.queue, queue_members.c.member], set_=values))
        return True

    def remove_member(self, queue: str, member: str, now: datetime) -> bool:
        done = self.conn.execute(queue_members.update().where(
            queue_members.c.queue == queue, queue_members.c.member == member,
            queue_members.c.removed_at.is_(None)).values(removed_at=now))
        return done.rowcount == 1

    def members(self, queue: str) -> list[str] | None:
        """The queue's members in the order they joined; None when the queue has no row at all
        (never seeded: its catalog list stands)."""
        rows = self.conn.execute(sa.select(queue_members.c.member, queue_members.c.removed_at)
                                 .where(queue_members.c.queue == queue)
                                 .order_by(queue_members.c.added_at, queue_members.c.member)).all()
        if not rows:
            return None
        return [r.member for r in rows if r.removed_at is None]

    def is_member(self, queue: str, member: str) -> bool:
        return self.conn.execute(sa.select(queue_members.c.member).where(
            queue_members.c.queue == queue, queue_members.c.member == member,
            queue_members.c.removed_at.is_(None))).first() is not None

    def queues_of(self, member: str) -> list[str]:
        return list(self.conn.execute(sa.select(queue_members.c.queue).where(
            queue_members.c.member == member, queue_members.c.removed_at.is_(None))
            .order_by(queue_members.c.queue)).scalars())

    def queues_by_member(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for queue, member in self.conn.execute(sa.select(queue_members.c.queue, queue_members.c.member)
                                               .where(queue_members.c.removed_at.is_(None))
                                               .order_by(queue_members.c.queue)).all():
            out.setdefault(member, []).append(queue)
        return out

    def memberships(self) -> list[dict[str, Any]]:
        """Every current membership: queue, member, source, added_by, added_at."""
        rows = self.conn.execute(sa.select(queue_members).where(queue_members.c.removed_at.is_(None))
                                 .order_by(queue_members.c.queue, queue_members.c.added_at,
                                           queue_members.c.member)).mappings()
        return [dict(r) for r in rows]


class FalloutWorkRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def assignment(self, item_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(fallout_assignments)
                                .where(fallout_assignments.c.item_id == item_id)).mappings().first()
        return dict(row) if row else None

    def assignments(self, item_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = list(item_ids)
        if not ids:
            return {}
        rows = self.conn.execute(sa.select(fallout_assignments)
                                 .where(fallout_assignments.c.item_id.in_(ids))).mappings()
        return {r["item_id"]: dict(r) for r in rows}

    def assign(self, row: dict[str, Any]) -> None:
        """Set (or replace) the item's assignment."""
        values = {k: v for k, v in row.items() if k != "item_id"}
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(fallout_assignments).values(**row)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=[fallout_assignments.c.item_id],
                                                     set_=values))

    def unassign(self, item_id: str) -> None:
        self.conn.execute(fallout_assignments.delete().where(fallout_assignments.c.item_id == item_id))

    def rules(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(fallout_rules).order_by(fallout_rules.c.position,
                                                                   fallout_rules.c.created_at))
        return [dict(r) for r in rows.mappings()]

    def add_rule(self, row: dict[str, Any]) -> dict[str, Any]:
        """Append a rule (it is tried after every existing one)."""
        last = self.conn.execute(sa.select(sa.func.max(fallout_rules.c.position))).scalar()
        row = row | {"position": (last or 0) + 1}
        self.conn.execute(fallout_rules.insert().values(**row))
        return row

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(fallout_rules).where(fallout_rules.c.id == rule_id)).mappings().first()
        return dict(row) if row else None

    def delete_rule(self, rule_id: str) -> bool:
        return self.conn.execute(fallout_rules.delete().where(fallout_rules.c.id == rule_id)).rowcount == 1
