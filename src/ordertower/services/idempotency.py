"""Use case of the Idempotency-Key header (IETF httpapi draft): a request with a key either
holds the key and runs, or is answered from the key's record (replay, reuse, in progress).

The fingerprint is the SHA-256 of the raw request body bytes, not of a canonical JSON form:
a retry resends the same request, and the bytes are what the server has before parsing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ..engine.ports import Store


SCOPE_MAX = 200  # the length of idempotency_keys.scope


@dataclass(frozen=True)
class Claim:
    """This request holds the key: run it, then keep its response or release the key."""

    key: str
    scope: str
    claimed_at: datetime


@dataclass(frozen=True)
class Replay:
    """The key's first request succeeded: answer its response again."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class KeyReused(Exception):
    """The key was used for another request (another body) in the same scope."""


class KeyInProgress(Exception):
    """The key's first request is still being handled."""


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def scope_of(operation: str, actor: str | None) -> str:
    """The scope a key lives in: the operation and its target, and who calls when known, so
    two clients' keys never collide. A scope too long for its column is hashed."""
    scope = f"{operation} by {actor}" if actor else operation
    return scope if len(scope) <= SCOPE_MAX else "sha256:" + hashlib.sha256(scope.encode()).hexdigest()


def begin(store: Store, key: str, scope: str, body: bytes, ttl_seconds: float) -> Claim | Replay:
    """Claim the key for a request with this body, or answer it from the key's record.
    Raises KeyReused (another body) or KeyInProgress (the first is still running)."""
    now = store.clock.now()
    digest = fingerprint(body)
    for _ in range(3):  # the row held may vanish (released) between the claim's two statements
        with store.uow() as uow:
            claimed, held = uow.idempotency.claim(key, scope, digest, now,
                                                  now + timedelta(seconds=ttl_seconds))
            uow.commit()
        if claimed:
            return Claim(key, scope, now)
        if held is not None:
            break
    else:  # pragma: no cover
        raise RuntimeError(f"could not claim idempotency key in scope {scope!r}")
    if held.fingerprint != digest:
        raise KeyReused()
    if held.status_code is None:
        raise KeyInProgress()
    return Replay(held.status_code, held.response_headers, held.response_body or b"")


def keep(store: Store, claim: Claim, response: Replay) -> None:
    """Keep the successful response of the request holding ``claim``."""
    with store.uow() as uow:
        uow.idempotency.store_response(claim.key, claim.scope, claim.claimed_at,
                                       response.status_code, response.headers, response.body)
        uow.commit()


def release(store: Store, claim: Claim) -> None:
    """The request holding ``claim`` failed (nothing stored): the key is free again."""
    with store.uow() as uow:
        uow.idempotency.release(claim.key, claim.scope, claim.claimed_at)
        uow.commit()
