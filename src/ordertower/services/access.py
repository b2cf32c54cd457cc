"""Use cases of access control: API keys (only their SHA-256 is stored)."""

from __future__ import annotations

import hashlib
import secrets

from ..domain.ids import new_id
from ..engine.ports import Store


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_admin_key(store: Store, bootstrap_key: str | None) -> str | None:
    """Make sure an admin can get in. Returns a new one-time key to print, or None.

    With ORDERTOWER_BOOTSTRAP_KEY, that key is (also) an admin key. Without it, the first
    start, finding no key at all, creates one and returns it: it is shown once, never again.
    """
    with store.uow() as uow:
        now = uow.clock.now()
        if bootstrap_key:
            h = key_hash(bootstrap_key)
            if not uow.keys.exists(h):
                uow.keys.add(new_id(), "bootstrap", h, "admin", now)
            uow.commit()
            return None
        if uow.keys.count():
            return None
        key = "otk_" + secrets.token_urlsafe(32)
        uow.keys.add(new_id(), "first-admin", key_hash(key), "admin", now)
        uow.commit()
        return key


def identity_of(store: Store, key: str) -> tuple[str, str] | None:
    """(name, role) of a valid key, or None."""
    with store.read() as uow:
        return uow.keys.identity(key_hash(key))


def role_of(store: Store, key: str) -> str | None:
    identity = identity_of(store, key)
    return identity[1] if identity else None
