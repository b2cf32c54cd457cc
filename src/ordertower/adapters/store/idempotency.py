"""Idempotency-Key records (table ``idempotency_keys``): claim a key, keep its response, let
it go. The service runs each call in its own short unit of work, so every API node sees a
claim at once.

A claim is one ``INSERT ... ON CONFLICT`` on the primary key (key, scope): of two requests
racing for a key, on any number of processes, exactly one inserts the row. The conflict
branch takes over only an expired row (``DO UPDATE ... WHERE expires_at <= now``), so expired
keys count as new without a separate clean-up first. A claim is identified by its
``created_at``; storing and releasing touch only the row of that claim, still in progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ...engine.ports import KeyRecord
from .tables import idempotency_keys as keys

PURGE_BATCH = 100  # expired rows deleted, at most, by each claim


class IdempotencyRepository:
    def __init__(self, conn: sa.Connection):
        self.conn = conn

    def claim(self, key: str, scope: str, fingerprint: str, now: datetime,
              expires_at: datetime) -> tuple[bool, KeyRecord | None]:
        """Claim ``key`` in ``scope`` for a request: (True, None) when this request now holds
        it (the key was free or expired); (False, record) when another request holds it;
        (False, None) when the row vanished between the two statements (try again)."""
        insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(keys).values(key=key, scope=scope, fingerprint=fingerprint, status_code=None,
                                   response_headers=None, response_body=None, created_at=now,
                                   expires_at=expires_at)
        stmt = stmt.on_conflict_do_update(
            index_elements=[keys.c.key, keys.c.scope],
            set_={c: stmt.excluded[c] for c in ("fingerprint", "status_code", "response_headers",
                                                "response_body", "created_at", "expires_at")},
            where=keys.c.expires_at <= now).returning(keys.c.created_at)
        if self.conn.execute(stmt).first() is not None:  # inserted, or took an expired row over
            _purge_expired(self.conn, now)
            return True, None
        row = self.conn.execute(sa.select(keys).where(keys.c.key == key, keys.c.scope == scope)).first()
        if row is None:
            return False, None
        return False, KeyRecord(row.fingerprint, row.status_code, dict(row.response_headers or {}),
                                row.response_body)

    def store_response(self, key: str, scope: str, claimed_at: datetime, status_code: int,
                       headers: dict[str, str], body: bytes) -> None:
        """Keep the response of the request holding the claim made at ``claimed_at``."""
        self.conn.execute(keys.update().where(*_claimed(key, scope, claimed_at)).values(
            status_code=status_code, response_headers=headers, response_body=body))

    def release(self, key: str, scope: str, claimed_at: datetime) -> None:
        """Let the key go (the request failed): a retry with it is handled as new."""
        self.conn.execute(keys.delete().where(*_claimed(key, scope, claimed_at)))


def _claimed(key: str, scope: str, claimed_at: datetime) -> tuple[Any, ...]:
    return (keys.c.key == key, keys.c.scope == scope, keys.c.created_at == claimed_at,
            keys.c.status_code.is_(None))


def _purge_expired(conn: sa.Connection, now: datetime) -> None:
    """Delete up to PURGE_BATCH expired rows. On PostgreSQL rows another claim has locked are
    skipped (``SKIP LOCKED``), so the purge never waits; SQLite claims are serialised."""
    expired = (sa.select(keys.c.key, keys.c.scope).where(keys.c.expires_at <= now)
               .order_by(keys.c.expires_at).limit(PURGE_BATCH).with_for_update(skip_locked=True))
    conn.execute(keys.delete().where(sa.tuple_(keys.c.key, keys.c.scope).in_(expired)))
