"""Identifiers of what ordertower creates (orders, plan items, events, tasks, ...): UUIDs of
version 7 (RFC 9562): a millisecond timestamp, then random bits (74 of them: as hard to guess
as any). Made in time order, they go to the end of every index that holds them instead of a
random place in it: the engine writes several events per plan item, and random keys made
each insert touch a different page of ever larger indexes (docs/decisions.md)."""

from __future__ import annotations

from uuid_utils import uuid7


def new_id() -> str:
    return str(uuid7())
