"""Identifiers of what ordertower creates (orders, plan items, events, tasks, ...): UUIDs of
version 7 (RFC 9562): a millisecond timestamp, a counter that starts at a random value each
millisecond, then 32 random bits. Made in time order, they go to the end of every index
that holds them instead of a random place in it: the engine writes several events per plan
item, and random keys made each insert touch a different page of ever larger indexes
(docs/decisions.md). Ids are not secrets (access control guards what they name); what must
not be guessed (API keys, callback tokens, session secrets) comes from ``secrets``."""

from __future__ import annotations

from uuid_utils import uuid7


def new_id() -> str:
    return str(uuid7())
