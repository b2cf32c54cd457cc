"""Helpers the store's repositories share to shape their statements."""

from __future__ import annotations

import json
from datetime import datetime, timezone
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
    """Insert many rows (each with the same keys; the table's defaults for the others).

    PostgreSQL: one short statement with the rows as one JSON document
    (``json_to_recordset``). A multi-row ``VALUES`` of a set of events was a statement of
    thousands of placeholders, new text for each size of set: psycopg split and converted it in
    Python every time (its statement cache keeps short ones only) and the server parsed it
    every time; 37 % of a W worker's time went to the events' and attempts' INSERTs (py-spy).
    One array per column (``unnest``) made the text short, but psycopg quotes every element of
    an array in Python (40 % of the statement's time). The document is made by the json
    module's C encoder and read by the server's. SQLite: executemany, in chunks."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        for chunk in chunks(rows):
            conn.execute(table.insert(), chunk)
        return
    names = tuple(rows[0])
    conn.execute(_recordset_insert(table, names), {"rows": json.dumps(rows, default=_json_value)})


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):  # as UTCDateTime binds it: naive means UTC
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_PG = postgresql.dialect()


@lru_cache(maxsize=64)
def _recordset_insert(table: sa.Table, names: tuple[str, ...]) -> sa.TextClause:
    columns = [table.c[name] for name in names]
    # a JSON column's value is the JSON value itself; None, SQL NULL out of the recordset, is
    # stored as JSON null, as SQLAlchemy's JSON type stores it
    values = ", ".join(f"COALESCE(r.\"{c.name}\", 'null'::jsonb)"
                       if isinstance(c.type.dialect_impl(_PG), postgresql.JSONB) else f"r.\"{c.name}\""
                       for c in columns)
    record = ", ".join(f"\"{c.name}\" {c.type.compile(dialect=_PG)}" for c in columns)
    return sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {values} "
                   f"FROM json_to_recordset(CAST(:rows AS json)) AS r({record})")
