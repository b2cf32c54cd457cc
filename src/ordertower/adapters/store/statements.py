"""Helpers the store's repositories share to shape their statements."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy.engine import Connection

CHUNK = 500  # rows per multi-row INSERT / IN (...) list


def chunks(seq: list, size: int = CHUNK) -> Iterator[list]:
    """``seq`` in slices of ``size``: one statement each."""
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def index_scans_only(conn: Connection, *, sequential_too: bool = False) -> None:
    """PostgreSQL: no bitmap scan (``sequential_too``: no sequential scan either) for the rest
    of this transaction, whatever the statistics say. For the queue's queries that pick plan
    items by state: each change of an item's state leaves a dead entry in the indexes on
    ``state`` until a vacuum, and a bitmap scan visits every one of them every time (under
    load thousands: a claim took 1.5 ms, a lease check 4 ms), where an index scan marks them
    dead once. A queue's statistics are always stale: they cannot be left to choose."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off"
                             + ("; SET LOCAL enable_seqscan = off" if sequential_too else ""))
