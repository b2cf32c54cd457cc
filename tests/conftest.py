"""Test fixtures. Integration tests run on SQLite and on PostgreSQL (a fresh database per
run, dropped at the end). PostgreSQL must be reachable: a missing server fails, never skips."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

# pytest-xdist's workers inherit COLUMNS=80 and LINES=24 from execnet: a Rich console made at
# import time (the CLI's) would keep that width for good. Tests give the CLI its width.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

# The processes tests start (serve, worker, the CLI: dozens per run) share one bytecode cache
# outside the checkout. Without it, where the environment says PYTHONDONTWRITEBYTECODE=1 (this
# machine's does), each would compile ordertower and its libraries again: ~2 CPU-s a start.
if not os.environ.get("PYTHONPYCACHEPREFIX"):
    import tempfile

    os.environ["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), f"ordertower-pycache-{os.getuid()}")
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

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


_CI_SUMMARIES: list[tuple[str, str]] = []


def pytest_runtest_logreport(report):
    """A test may leave a summary for CI's log: ``record_property("ci_summary", text)``. They
    are collected here (in the controlling process under pytest-xdist, where the workers'
    own output is not shown) and printed at the end of the run."""
    if report.when == "call":
        _CI_SUMMARIES.extend((report.nodeid, value) for name, value in report.user_properties
                             if name == "ci_summary")


def pytest_terminal_summary(terminalreporter):
    if _CI_SUMMARIES:
        terminalreporter.section("summaries for CI")
        for nodeid, text in _CI_SUMMARIES:
            terminalreporter.write_line(f"{nodeid}:")
            terminalreporter.write_line(text + "\n")


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


@contextlib.contextmanager
def empty_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty database on the shared PostgreSQL server (no schema, commits not waiting
    for the disk), dropped afterwards whatever is still connected to it; its URL."""
    admin = _pg_admin()
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        # a test database need not outlive a crash: commits do not wait for the WAL's flush
        # (still atomic and isolated; only the last moments before a server crash could go)
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database_url():
    with empty_pg_database("ordertower_test") as url:
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def _truncate(url: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per test process: copied, it is every test's
    empty database (a copy takes a millisecond, the migrations a tenth of a second)."""
    path = tmp_path_factory.mktemp("template") / "ordertower.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed: the WAL is in the file
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "ordertower.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
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


@pytest.fixture(scope="session")
def throwaway_cluster():
    """A PostgreSQL cluster of the session's own (tests/support/pg_cluster.py), for tests that
    stop, restart or start the database late: never the shared server."""
    from .support.pg_cluster import ThrowAwayCluster

    cluster = ThrowAwayCluster()
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def throwaway_pg(throwaway_cluster):
    """The throw-away cluster, up, and the URL of a fresh empty database in it. A test that
    stops the cluster need not start it again: the next one finds it up."""
    if not throwaway_cluster.is_up():
        throwaway_cluster.start()
    return throwaway_cluster, throwaway_cluster.new_database()
