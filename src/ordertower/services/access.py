"""Use cases of access control: API keys (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from ..adapters.store.repositories import new_id
from ..adapters.store.tables import api_keys


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_admin_key(store, bootstrap_key: str | None) -> str | None:
    """Make sure an admin can get in. Returns a new one-time key to print, or None.

    With ORDERTOWER_BOOTSTRAP_KEY, that key is (also) an admin key. Without it, the first
    start, finding no key at all, creates one and returns it: it is shown once, never again.
    """
    with store.uow() as uow:
        now = uow.clock.now()
        if bootstrap_key:
            h = key_hash(bootstrap_key)
            if not uow.conn.execute(sa.select(api_keys.c.id).where(api_keys.c.key_hash == h)).first():
                uow.conn.execute(api_keys.insert().values(id=new_id(), name="bootstrap", key_hash=h,
                                                          role="admin", created_at=now))
            uow.commit()
            return None
        if uow.conn.execute(sa.select(sa.func.count()).select_from(api_keys)).scalar_one():
            return None
        key = "otk_" + secrets.token_urlsafe(32)
        uow.conn.execute(api_keys.insert().values(id=new_id(), name="first-admin",
                                                  key_hash=key_hash(key), role="admin", created_at=now))
        uow.commit()
        return key


def identity_of(store, key: str) -> tuple[str, str] | None:
    """(name, role) of a valid key, or None."""
    with store.read() as uow:
        row = uow.conn.execute(sa.select(api_keys.c.name, api_keys.c.role).where(
            api_keys.c.key_hash == key_hash(key), api_keys.c.revoked_at.is_(None))).first()
        return (row.name, row.role) if row else None


def role_of(store, key: str) -> str | None:
    identity = identity_of(store, key)
    return identity[1] if identity else None
