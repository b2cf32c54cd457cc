"""Which database errors mean "the database cannot serve now, try again later" (503 with
Retry-After, a worker's back-off), and which are bugs or refusals that waiting cannot mend."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import exc as sa_exc

from ordertower.adapters.store.database import unavailable_reason
from ordertower.adapters.store.unit_of_work import Store
from ordertower.domain.errors import DatabaseUnavailable, TransactionConflict
from ordertower.engine.conflicts import TRIES, retrying


def _db_error(orig: Exception, kind=sa_exc.OperationalError) -> Exception:
    return kind("SELECT ...", {}, orig)


def _real_sqlite_readonly_error(tmp_path) -> sqlite3.Error:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("a read-only connection wrote")


@pytest.mark.parametrize("error, says", [
    (_db_error(psycopg.OperationalError("connection failed: Connection refused")), "cannot reach the database"),
    (_db_error(psycopg.errors.AdminShutdown("terminating connection")), "shutting down"),
    (_db_error(psycopg.errors.CannotConnectNow("the database system is starting up")), "starting up"),
    (_db_error(psycopg.errors.DiskFull("could not extend file")), "disk full"),
    (_db_error(psycopg.errors.TooManyConnections("too many clients")), "too many connections"),
    (_db_error(psycopg.errors.ReadOnlySqlTransaction("read-only transaction")), "read-only"),
    (_db_error(psycopg.errors.ConnectionFailure("connection failure")), "connection lost"),
    (_db_error(sqlite3.OperationalError("attempt to write a readonly database (read-only: "
                                        "x.db cannot be written (Operation not permitted))")), "read-only"),
    (sa_exc.TimeoutError("QueuePool limit reached"), "no database connection available"),
])
def test_what_waiting_can_mend_is_unavailable_with_a_reason(error, says):
    assert says in unavailable_reason(error)


def test_a_real_sqlite_read_only_error_is_unavailable(tmp_path):
    assert unavailable_reason(_db_error(_real_sqlite_readonly_error(tmp_path))).startswith("read-only")


@pytest.mark.parametrize("error", [
    _db_error(psycopg.errors.UniqueViolation("duplicate key"), sa_exc.IntegrityError),
    _db_error(psycopg.errors.UndefinedTable("no such table")),
    _db_error(psycopg.errors.InvalidPassword("password authentication failed")),
    _db_error(psycopg.errors.InvalidCatalogName("database does not exist")),
    _db_error(sqlite3.OperationalError("no such table: orders")),
    ValueError("a bug"),
])
def test_what_waiting_cannot_mend_is_not(error):
    assert unavailable_reason(error) is None


def test_a_sqlite_database_still_locked_after_every_try_is_unavailable_not_a_conflict():
    calls = []

    def use_case():
        calls.append(1)
        raise TransactionConflict("database is locked")

    with pytest.raises(DatabaseUnavailable) as locked:
        retrying(use_case, sleep=lambda _s: None)()
    assert len(calls) == TRIES and locked.value.reason == "locked too long"


class _ConnectionLostOnRollback:
    """A connection whose reads worked but which died before the transaction's rollback."""

    def __init__(self):
        self.is_active = True

    def execution_options(self, **_options):
        return self

    def begin(self):
        return self

    def rollback(self):
        raise _db_error(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))

    def close(self):
        pass


class _EngineOfLostConnections:
    def connect(self):
        return _ConnectionLostOnRollback()


def test_a_connection_lost_at_the_end_of_a_unit_of_work_is_unavailable_not_a_bug():
    # a database restart between a worker's last read and the unit of work's close: the worker
    # backs off and tries again, it does not log an internal error against the item
    store = Store(_EngineOfLostConnections(), clock=lambda: None)
    with pytest.raises(DatabaseUnavailable) as lost:
        with store.read():
            pass
    assert "shutting down" in lost.value.reason
