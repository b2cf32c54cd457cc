"""Identifiers of what ordertower creates (orders, plan items, tasks, ...): random UUIDs."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())
