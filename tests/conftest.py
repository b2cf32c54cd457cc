"""Test fixtures. Integration tests run on SQLite and on PostgreSQL (a fresh database per
run, dropped at the end). PostgreSQL must be reachable: a missing server fails, never skips."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine, normalise_url
from ordertower.adapters.store.migrate import upgrade
from ordertower.adapters.store.tables import metadata
from ordertower.logs import configure_logging, flush_logging, times_configured

from .support.live import start_server

def _test_logging() -> None:
    configure_logging("console", "warning", stream=sys.__stderr__)


@pytest.fixture(scope="session", autouse=True)
def _logging():
    """Logs of in-process servers go where a process's would: one configuration, warnings
    and errors only, to the real stderr (never into a CLI's captured output)."""
    _test_logging()
    yield
    flush_logging()


@pytest.fixture(autouse=True)
def _logging_restored():
    """A test that runs `serve` or `worker` in-process configures logging for that command
    (onto its captured output): the tests' configuration comes back after it."""
    before = times_configured()
    yield
    if times_configured() != before:
        _test_logging()


PG_ADMIN_URL = os.environ.get("ORDERTOWER_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin() -> sa.Engine:
    engine = sa.create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError:
        # a developer machine where the cluster is stopped: start it, as .ci/run does
        subprocess.run("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -1) main start",
                       shell=True, check=False, capture_output=True)
        with engine.connect():
            pass
    return engine


@pytest.fixture(scope="session")
def pg_database_url():
    admin = _pg_admin()
    name = f"ordertower_test_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ordertower.db"
    url = request.getfixturevalue("pg_database_url")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/ordertower.db"


@pytest.fixture
def server_factory(database_url):
    servers = []

    def make(**overrides):
        server = start_server(database_url, **overrides)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(server_factory):
    """A running ordertower (API, simulators, one in-process worker), no access control."""
    return server_factory()


@pytest.fixture
def engine(database_url):
    """The engine on a controllable clock (SQLite and PostgreSQL), the orchestration world."""
    from .support.engine import EngineHarness

    harness = EngineHarness(database_url)
    yield harness
    harness.close()
