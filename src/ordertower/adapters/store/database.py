"""Database engines for SQLite (embedded default) and PostgreSQL, from a plain URL.

SQLite: WAL, synchronous=NORMAL, a busy timeout, and every write transaction opened with
``BEGIN IMMEDIATE`` so writers queue for the lock instead of failing on upgrade. Reads
(``readonly`` execution option) open a deferred transaction and run beside the writer.
PostgreSQL: psycopg 3.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url


def normalise_url(url: str) -> str:
    """Map the plain URLs of the public contract to the driver ordertower uses."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername == "sqlite":
        u = u.set(drivername="sqlite+pysqlite")
    elif not u.drivername.startswith(("postgresql+", "sqlite+")):
        raise ValueError(f"unsupported database '{u.drivername}' (use sqlite:/// or postgresql://)")
    return u.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False},
                                  pool_size=pool_size, max_overflow=20)
        _configure_sqlite(engine)
        return engine
    # no pre-ping: it cost a round trip on every checkout; a connection the server dropped
    # fails its statement, SQLAlchemy discards it, and the caller's retry gets a fresh one
    return sa.create_engine(url, pool_size=pool_size, max_overflow=20, pool_recycle=1800)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
