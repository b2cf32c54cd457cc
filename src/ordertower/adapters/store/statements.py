"""Helpers the store's repositories share to shape their statements."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
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


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (each with the same keys, the table's defaults for the others).

    PostgreSQL: one short statement with one array per column (``unnest``). A multi-row
    ``VALUES`` of a set of events was a statement of thousands of placeholders, new text for
    each size of set: psycopg split and converted it in Python every time (its statement
    cache keeps short ones only) and the server parsed it every time; 37 % of a W worker's
    time went to the events' and attempts' INSERTs (py-spy). SQLite: executemany, in chunks."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        for chunk in chunks(rows):
            conn.execute(table.insert(), chunk)
        return
    names = tuple(rows[0])
    params: dict[str, list[Any]] = {}
    for n, name in enumerate(names):
        values = [row[name] for row in rows]
        kind = table.c[name].type
        if isinstance(kind.dialect_impl(conn.dialect), postgresql.JSONB):
            values = [json.dumps(v) for v in values]  # as SQLAlchemy's JSON type: None is 'null'
        else:  # as the column's type binds one value (UTCDateTime: in UTC)
            process = kind._cached_bind_processor(conn.dialect)
            if process is not None:
                values = [process(v) for v in values]
        params[f"c{n}"] = values
    conn.execute(_unnest_insert(table, names), params)


_PG = postgresql.dialect()


@lru_cache(maxsize=64)
def _unnest_insert(table: sa.Table, names: tuple[str, ...]) -> sa.TextClause:
    arrays = ", ".join(f"CAST(:c{n} AS {table.c[name].type.compile(dialect=_PG)}[])"
                       for n, name in enumerate(names))
    return sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays})")
