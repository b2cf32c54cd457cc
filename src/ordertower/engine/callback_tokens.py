"""Single-use tokens of asynchronous callouts: the capability a system's callback presents."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from .conflicts import retrying
from .ports import Store

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@retrying
def issue_callback_token(store: Store, item: dict[str, Any]) -> str:
    """A single-use token for the asynchronous reply to this attempt (stored hashed)."""
    token = secrets.token_urlsafe(24)
    timeout = item["spec"].timeout_s
    with store.uow() as uow:
        now = uow.clock.now()
        uow.orchestration.add_token({
            "token_hash": token_hash(token), "item_id": item["id"], "attempt": item["attempts"],
            "created_at": now, "expires_at": now + timedelta(seconds=timeout) if timeout else None})
        uow.commit()
    return token
