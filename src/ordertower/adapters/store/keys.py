"""API keys (table ``api_keys``): only their SHA-256 is stored, never the key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import api_keys

# what a listing shows: never the hash
_SHOWN = (api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.created_at,
          api_keys.c.revoked_at)


class KeyRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def exists(self, key_hash: str) -> bool:
        return self.conn.execute(sa.select(api_keys.c.id)
                                 .where(api_keys.c.key_hash == key_hash)).first() is not None

    def count(self) -> int:
        return self.conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one()

    def add(self, key_id: str, name: str, key_hash: str, role: str, now: datetime) -> None:
        self.conn.execute(api_keys.insert().values(id=key_id, name=name, key_hash=key_hash,
                                                   role=role, created_at=now))

    def identity(self, key_hash: str) -> tuple[str, str] | None:
        """(name, role) of a key not revoked: one statement on the unique index of key_hash."""
        row = self.conn.execute(sa.select(api_keys.c.name, api_keys.c.role).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))).first()
        return (row.name, row.role) if row else None

    def listing(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(*_SHOWN).order_by(api_keys.c.created_at, api_keys.c.id))
        return [dict(r) for r in rows.mappings()]

    def get(self, key_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(*_SHOWN).where(api_keys.c.id == key_id)).mappings().first()
        return dict(row) if row else None

    def name_taken(self, name: str) -> bool:
        """Whether a key not revoked has this name (names are how the audit log tells actors apart)."""
        return self.conn.execute(sa.select(api_keys.c.id).where(
            api_keys.c.name == name, api_keys.c.revoked_at.is_(None))).first() is not None

    def active_admins(self, *, for_update: bool = False) -> list[str]:
        """The ids of the admin keys not revoked (locked on PostgreSQL with ``for_update``:
        two revocations at once cannot both see the other's key as the one that stays)."""
        q = sa.select(api_keys.c.id).where(api_keys.c.role == "admin", api_keys.c.revoked_at.is_(None))
        if for_update:
            q = q.with_for_update()
        return list(self.conn.execute(q.order_by(api_keys.c.id)).scalars())

    def revoke(self, key_id: str, now: datetime) -> bool:
        done = self.conn.execute(api_keys.update().where(
            api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now))
        return done.rowcount == 1
