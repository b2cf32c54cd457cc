"""Database engines for SQLite (embedded default) and PostgreSQL, from a plain URL.

SQLite: WAL, synchronous=NORMAL, a busy timeout, and every write transaction opened with
``BEGIN IMMEDIATE`` so writers queue for the lock instead of failing on upgrade; the API's and
the workers' engines take turns at it first, the API's writes before the engine's
(write_turns.py). Reads (``readonly`` execution option) open a deferred transaction and run
beside the writer.
PostgreSQL: psycopg 3.

Faults: ``unavailable_reason`` tells a database that cannot serve *now* (connection lost or
refused, a server shutting down or starting up, read-only, disk full, locked too long) from a
bug; callers answer the first with 503 and ``Retry-After`` (API) or back off and go on
(workers). A SQLite connection is never opened read-only: SQLite would silently open a file it
cannot write read-only and keep that connection read-only for ever, after the file is writable
again; ordertower refuses to open it instead, so every pooled connection recovers by itself.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from .write_turns import EngineTurns, IntakeTurns, write_turns as turns_of


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


def create_db_engine(url: str, *, pool_size: int = 10, role: str | None = None) -> Engine:
    """An engine on ``url`` for a process of ``role``: ``intake`` (the API's) or ``engine`` (a
    worker process's); None: neither (tools, tests).

    - SQLite: their writes take turns, the API's first (write_turns.py). None: writers meet
      in SQLite's busy handler alone.
    - PostgreSQL: the same engine for both (the queue's queries that must never be planned
      as bitmap scans say so themselves: statements.index_scans_only)."""
    url = normalise_url(url)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(u.database)
        if path is not None and not path.parent.is_dir():
            raise DatabaseFolderMissing(f"the folder of the SQLite database does not exist: "
                                        f"{path.parent} (create it, or fix the database URL)")
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False},
                                  pool_size=pool_size, max_overflow=20)
        turns = turns_of(role, path)
        _configure_sqlite(engine, path, turns)
        if turns is not None:
            _TURNS[engine] = turns
        return engine
    # no pre-ping: it cost a round trip on every checkout; a connection the server dropped
    # fails its statement, SQLAlchemy discards it, and the caller's retry gets a fresh one
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=20, pool_recycle=1800)
    # an INSERT of many rows is one statement of many VALUES, not one statement per row
    # (psycopg's executemany: each row executed apart on the server)
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


_TURNS: "weakref.WeakKeyDictionary[Engine, IntakeTurns | EngineTurns]" = weakref.WeakKeyDictionary()


def write_turns_of(engine: Engine) -> IntakeTurns | EngineTurns | None:
    """The write turns an engine's SQLite transactions take (None: none)."""
    return _TURNS.get(engine)


PROBE_TIMEOUT_S = 2


def create_probe_engine(engine: Engine) -> Engine:
    """A small engine of its own for health probes, on the database of ``engine``: one
    connection (two at most), short connect and statement time-outs, so a probe never queues
    for a connection behind the API's requests. An in-memory SQLite database is only reachable
    through its own engine, which is returned unchanged."""
    url = engine.url
    if is_sqlite(engine):
        if sqlite_path(url.database) is None:
            return engine
        probe_engine = sa.create_engine(url, connect_args={"timeout": PROBE_TIMEOUT_S,
                                                           "check_same_thread": False},
                                        pool_size=1, max_overflow=1, pool_timeout=PROBE_TIMEOUT_S)

        @event.listens_for(probe_engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every probe
            dbapi_conn.isolation_level = None
            dbapi_conn.execute(f"PRAGMA busy_timeout={PROBE_TIMEOUT_S * 1000}")

        return probe_engine
    return sa.create_engine(url, pool_size=1, max_overflow=1, pool_timeout=PROBE_TIMEOUT_S,
                            pool_recycle=1800, pool_pre_ping=False,
                            connect_args={"connect_timeout": PROBE_TIMEOUT_S,
                                          "options": f"-c statement_timeout={PROBE_TIMEOUT_S * 1000}"})


class DatabaseFolderMissing(ValueError):
    """A SQLite URL naming a file in a folder that does not exist (a start-up error)."""


def sqlite_path(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve()


def sqlite_unwritable(path: Path) -> str | None:
    """Why this process cannot write the SQLite file now (None: it can). ``access(W_OK)``
    holds for every user, root included (``chmod`` for others; an immutable file,
    ``chattr +i``, or a read-only mount for root too). The files are never opened here:
    closing a descriptor of a file drops every POSIX lock this process holds on it, SQLite's
    included, and a process that lost its lock lets another one's last connection delete the
    WAL still in use (``disk I/O error``, then a malformed database)."""
    for file in (path, path.with_name(path.name + "-wal")):
        if not os.access(file, os.W_OK) and file.exists():
            return f"read-only: {file.name} cannot be written (not writable for this process)"
    if not path.exists() and not os.access(path.parent, os.W_OK):
        return f"read-only: the folder {path.parent} cannot be written"
    return None


def _configure_sqlite(engine: Engine, path: Path | None, turns: IntakeTurns | EngineTurns | None) -> None:
    @event.listens_for(engine, "do_connect")
    def _refuse_read_only(_dialect, _record, _cargs, _cparams):
        reason = sqlite_unwritable(path) if path is not None else None
        if reason is not None:  # SQLite would open it read-only, and never recover
            raise sqlite3.OperationalError(f"attempt to write a readonly database ({reason})")
        return None  # the default connect

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
        if conn.get_execution_options().get("readonly", False):
            conn.exec_driver_sql("BEGIN")
            return
        if turns is None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        raw = conn.connection.dbapi_connection
        turns.begin(raw)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.end(raw)
            raise

    if turns is not None:  # a transaction's turn ends once SQLite has committed or rolled back
        _after(engine.dialect, "do_commit", turns.end)
        _after(engine.dialect, "do_rollback", turns.end)

        # and, whatever happened, when its connection goes back to the pool or is dropped
        @event.listens_for(engine, "checkin")
        @event.listens_for(engine, "close")
        def _turn_over(dbapi_conn, _record):
            if dbapi_conn is not None:
                turns.end(dbapi_conn)

        @event.listens_for(engine, "invalidate")
        def _turn_over_invalidated(dbapi_conn, _record, _exc):
            if dbapi_conn is not None:
                turns.end(dbapi_conn)


def _after(dialect, name: str, then) -> None:
    """Call ``then(raw DBAPI connection)`` after the dialect's ``name`` (do_commit,
    do_rollback), whatever it raised: SQLAlchemy's commit and rollback events come before."""
    original = getattr(dialect, name)

    def wrapped(connection):
        try:
            original(connection)
        finally:
            then(getattr(connection, "dbapi_connection", connection))

    setattr(dialect, name, wrapped)


# --- faults: a database that cannot serve now ---------------------------------------------------

# PostgreSQL SQLSTATEs of a database that cannot serve now but will (class 08: connection
# exception; 57P01-03: shutting down, crashed, starting up; 53: out of disk, memory or
# connections; 25006: read-only transaction, a standby or default_transaction_read_only)
_PG_TRANSIENT = {"57P01": "the server is shutting down", "57P02": "the server crashed",
                 "57P03": "the server is starting up", "53100": "disk full",
                 "53200": "out of memory", "53300": "too many connections",
                 "25006": "read-only"}
# SQLite extended error names (Python 3.11: ``sqlite_errorname``) of the same
_SQLITE_TRANSIENT = {"SQLITE_READONLY": "read-only", "SQLITE_IOERR": "I/O error (read-only or failing disk)",
                     "SQLITE_FULL": "disk full", "SQLITE_CANTOPEN": "cannot open the database file",
                     "SQLITE_BUSY": "locked too long", "SQLITE_LOCKED": "locked too long"}


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database cannot serve now, if trying again later can succeed; None for any
    other error (a bug, a constraint, a bad query: those are not the database's state)."""
    if isinstance(exc, sa.exc.TimeoutError):  # no pooled connection came free in time
        return "no database connection available in time"
    if isinstance(exc, sa.exc.DBAPIError):
        orig = exc.orig
    elif isinstance(exc, (sqlite3.Error, psycopg.Error)):  # raised past SQLAlchemy's wrapping
        orig = exc
    else:
        return None
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        for prefix, reason in _SQLITE_TRANSIENT.items():
            if name.startswith(prefix):
                return f"{reason}: {orig}"
        if "readonly database" in str(orig):  # refused by _refuse_read_only
            return str(orig).removeprefix("attempt to write a readonly database ").strip("()")
        return None
    state = getattr(orig, "sqlstate", None)
    if state in _PG_TRANSIENT:
        return _PG_TRANSIENT[state]
    if state is not None and state.startswith("08"):
        return "connection lost"
    if getattr(exc, "connection_invalidated", False):
        return "connection lost"
    if isinstance(orig, (psycopg.OperationalError, psycopg.InterfaceError)) and state is None:
        # psycopg: no SQLSTATE means no server answered (refused, reset, unreachable)
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else repr(orig)
        return f"cannot reach the database: {first}"
    return None


def probe(engine: Engine) -> str:
    """Whether the database can take writes now, without taking a write lock (a probe must
    not queue behind a long transaction): "ok", or why not. Raises what the database raised
    when it does not answer at all."""
    if is_sqlite(engine):
        path = sqlite_path(engine.url.database)
        reason = sqlite_unwritable(path) if path is not None else None
        if reason is not None:
            return reason
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return "ok"
    with engine.connect() as conn:
        read_only = conn.execute(sa.text("SHOW transaction_read_only")).scalar_one()
    return "read-only: the server accepts no writes (a standby?)" if read_only == "on" else "ok"
