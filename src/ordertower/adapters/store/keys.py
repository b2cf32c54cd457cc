"""API keys (table ``api_keys``): only their SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import api_keys


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
        """(name, role) of a key not revoked."""
        row = self.conn.execute(sa.select(api_keys.c.name, api_keys.c.role).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))).first()
        return (row.name, row.role) if row else None
