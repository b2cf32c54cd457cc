"""ordertower run as operations teams run it: real ``serve`` and ``worker`` processes, their
JSON logs, signals and start-up on a fresh database."""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.migrate import head_revision

from ..conftest import empty_pg_database
from ..support.live import SEED_ORDER
from ..support.processes import ORDERS, Process, ServeProcess
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow


def _drop_mid_body(port: int) -> None:
    """A client that sends the headers of a 5,000-byte order and a few bytes, then goes."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST " + ORDERS.encode() + b" HTTP/1.1\r\nHost: test\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"external")


def test_clients_that_drop_mid_body_neither_stall_the_server_nor_flood_its_log(tmp_path, sqlite_url):
    serve = ServeProcess(tmp_path, sqlite_url)
    try:
        serve.wait_ready()
        before = len(serve.lines())

        for _ in range(20):
            _drop_mid_body(serve.port)
        started = time.monotonic()
        live = serve.client.get("/health/live")
        answered_in = time.monotonic() - started

        assert live.status_code == 200
        assert answered_in < 0.5, f"/health/live took {answered_in:.2f} s"
        dropped = wait_until(lambda: len(serve.logged("client disconnected")) == 20 and
                             serve.logged("client disconnected"), 10, "20 disconnect lines")
        assert all(line["level"] == "info" and line["status"] == 499 for line in dropped)
        assert len(serve.lines()) - before < 50
        order = serve.post_order()
        serve.wait_for_state(order["id"], "completed")
    finally:
        serve.stop()


def test_every_log_line_is_json_and_carries_its_request_id_or_its_order_and_item(tmp_path, sqlite_url):
    serve = ServeProcess(tmp_path, sqlite_url, "--log-level", "debug")
    try:
        serve.wait_ready()
        resp = serve.client.post(ORDERS, json=SEED_ORDER, headers={"X-Request-ID": "crm-retry-7f3a"})
        assert resp.status_code == 201 and resp.headers["X-Request-ID"] == "crm-retry-7f3a"
        made_up = serve.client.get(f"{ORDERS}/{resp.json()['id']}").headers["X-Request-ID"]
        assert len(made_up) == 32  # none sent: one is made and echoed
        serve.wait_for_state(resp.json()["id"], "completed")
        plan = serve.client.get(f"/api/v1/orders/{resp.json()['id']}/plan").json()
        serve.signal(signal.SIGTERM)
        assert serve.wait(30) == 0
    finally:
        serve.stop()

    lines = serve.lines()
    parsed = serve.json_lines()
    not_json = [line for line in lines if not line.startswith("{")]
    assert not_json == [], "every log line is a JSON object"
    requests = [line for line in parsed if line["logger"] == "ordertower.http"]
    assert requests and all(line.get("request_id") for line in requests)
    posted = [line for line in requests if line.get("request_id") == "crm-retry-7f3a"]
    assert [(p["method"], p["status"]) for p in posted] == [("POST", 201)]
    assert any(line["request_id"] == made_up and line["method"] == "GET" for line in requests)
    items = [line for line in parsed if line["event"] in ("item recorded", "item released")]
    assert len(items) == 7  # the seed order's seven plan items
    assert all(line["order_id"] == resp.json()["id"] and line["item_id"] for line in items)
    # a callout's outcome is logged at info; a completed item that calls no system (the
    # milestone, the installed base's assetize) at debug only
    types = {item["key"]: item["type"] for item in plan["items"]}
    assert {line["key"]: line["level"] for line in items} == {
        key: "info" if kind == "callout" else "debug" for key, kind in types.items()}
    assert sorted(types.values()).count("callout") == 5
    assert all("Traceback" not in line.get("exception", "") for line in parsed)


def _in_flight(serve: ServeProcess) -> int:
    total = 0
    for system in ("warehouse", "billing"):
        requests = serve.client.get(f"/simulators/{system}").json()["requests"]
        total += sum(1 for r in requests if r["status"] is None)
    return total


def _attempts_match_recorded_attempts(url: str) -> tuple[int, list]:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        mismatched = conn.execute(sa.text(
            "SELECT p.key, p.attempts, (SELECT count(*) FROM item_attempts a WHERE a.item_id = p.id) "
            "FROM plan_items p WHERE p.attempts <> "
            "(SELECT count(*) FROM item_attempts a WHERE a.item_id = p.id)")).all()
        connection_errors = conn.execute(sa.text(
            "SELECT count(*) FROM item_attempts WHERE error LIKE '%connection error%'")).scalar_one()
    engine.dispose()
    return connection_errors, mismatched


@pytest.mark.parametrize("latency_ms, grace, finished", [(3000, 10, True), (5000, 1, False)],
                         ids=["callouts-finish-within-grace", "grace-ends-before-callouts"])
def test_sigterm_during_50_callouts_exits_within_grace_and_charges_no_attempt_it_did_not_make(
        tmp_path, database_url, latency_ms, grace, finished):
    serve = ServeProcess(tmp_path, database_url, "--grace-seconds", str(grace))
    try:
        serve.wait_ready()
        for system in ("warehouse", "billing", "network"):
            serve.client.put(f"/simulators/{system}", json={"latency_ms": latency_ms}).raise_for_status()
        orders = [serve.post_order()["id"] for _ in range(20)]  # 3 callouts each at first
        wait_until(lambda: _in_flight(serve) >= 50, 120, "50 callouts in flight")  # slow beside a second test process

        started = time.monotonic()
        serve.signal(signal.SIGTERM)
        code = serve.wait(grace + 15)
        took = time.monotonic() - started
    finally:
        serve.stop()

    assert code == 0
    assert took < grace + 3, f"exited {took:.1f} s after SIGTERM (grace {grace} s)"
    causes = {line["cause"] for line in serve.logged("item released")}
    if finished:  # only items that could not even connect any more went back, uncharged
        assert not serve.logged("grace period over; releasing unfinished items")
        assert causes <= {"released: connection lost while shutting down"}
    else:
        # each worker process releases its own (on PostgreSQL serve has two, both running
        # before serve is ready, so the callouts are shared between them)
        released = serve.logged("grace period over; releasing unfinished items")
        assert sum(line["items"] for line in released) >= 50
        assert "released unrun: worker shut down" in causes
    errors = [line["event"] for line in serve.json_lines() if line["level"] == "error"]
    # uvicorn says once that it cut the simulators' slow requests short; nothing else errs
    assert [e for e in errors if "timeout graceful shutdown exceeded" not in e] == []
    connection_errors, mismatched = _attempts_match_recorded_attempts(database_url)
    assert connection_errors == 0 and mismatched == []

    again = ServeProcess(tmp_path, database_url, name="serve-again")
    try:
        again.wait_ready()
        for order_id in orders:
            again.wait_for_state(order_id, "completed", timeout=120)
    finally:
        again.stop()


def test_no_migrate_refuses_an_old_schema_until_db_upgrade_brings_it_to_head(tmp_path, sqlite_url):
    engine = create_db_engine(sqlite_url)
    with engine.begin() as conn:  # a database some other version of ordertower left behind
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('0004')"))
    engine.dispose()

    refused = Process(["serve", "--no-migrate", "--no-auth", "--database", sqlite_url, "--port", "1"],
                      tmp_path / "refused.log", tmp_path)
    assert refused.wait(60) == 1
    refused.stop()
    said = "\n".join(refused.lines())
    assert "schema at 0004" in said and "ordertower db upgrade" in said

    status = Process(["db", "status", "--database", sqlite_url], tmp_path / "status.log", tmp_path)
    assert status.wait(60) == 1
    status.stop()


def test_db_upgrade_then_serve_with_no_migrate_comes_up(tmp_path, sqlite_url):
    upgrade = Process(["db", "upgrade", "--database", sqlite_url], tmp_path / "upgrade.log", tmp_path)
    assert upgrade.wait(60) == 0
    upgrade.stop()
    assert f"from empty to {head_revision()}" in "\n".join(upgrade.lines())
    serve = ServeProcess(tmp_path, sqlite_url, "--no-migrate")
    try:
        serve.wait_ready()
        assert serve.client.get("/health/ready").json()["schema"] == "ok"
    finally:
        serve.stop()


@pytest.fixture
def fresh_pg_url():
    """An empty PostgreSQL database: no schema at all."""
    with empty_pg_database("ordertower_fresh") as url:
        yield url


def test_three_workers_and_serve_started_together_on_a_fresh_postgresql_all_come_up(tmp_path, fresh_pg_url):
    barrier = threading.Barrier(4)
    processes: list[Process] = []
    lock = threading.Lock()

    def start(kind: str, n: int) -> None:
        barrier.wait()
        if kind == "serve":
            p = ServeProcess(tmp_path, fresh_pg_url, "--workers", "0")
        else:
            p = Process(["worker", "--database", fresh_pg_url, "--log-format", "json",
                         "--poll-seconds", "0.2"], tmp_path / f"worker-{n}.log", tmp_path)
        with lock:
            processes.append(p)

    threads = [threading.Thread(target=start, args=("serve" if n == 0 else "worker", n)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        serve = next(p for p in processes if isinstance(p, ServeProcess))
        workers = [p for p in processes if not isinstance(p, ServeProcess)]
        serve.wait_ready()
        for w in workers:
            wait_until(lambda: w.logged("worker started"), 60, "a worker to start")
            assert w.popen.poll() is None

        upgraded = [p for p in processes if p.logged("schema upgraded")]
        assert len(upgraded) == 1, "one process migrates, the others find the schema at head"
        engine = create_db_engine(fresh_pg_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() \
                == [head_revision()]
        engine.dispose()
        # the workers were told nothing: they found serve (and its simulators) in the database
        order = serve.post_order()
        serve.wait_for_state(order["id"], "completed")
        ran = {line["worker"] for w in workers for line in w.logged("worker started")}
        assert len(ran) == 3
    finally:
        for p in processes:
            p.stop()


def test_a_worker_never_guesses_where_serve_is(tmp_path, sqlite_url):
    """Without --simulators-url and before any serve recorded its URL, a worker waits and
    says so; it calls nobody."""
    worker = Process(["worker", "--database", sqlite_url, "--log-format", "json"],
                     tmp_path / "worker.log", tmp_path)
    try:
        wait_until(lambda: worker.logged("waiting for serve to record its public URL in the "
                                         "database (or set ORDERTOWER_PUBLIC_URL)"), 60,
                   "the worker to say it waits")
        assert worker.popen.poll() is None and not worker.logged("worker started")
    finally:
        worker.stop()


def test_access_control_switched_off_by_the_environment_still_serves_only_loopback(tmp_path, sqlite_url):
    from ..support.processes import clean_env

    refused = Process(["serve", "--host", "0.0.0.0", "--database", sqlite_url, "--port", "1"],
                      tmp_path / "open.log", tmp_path, env=clean_env(ORDERTOWER_NO_AUTH="1"))
    assert refused.wait(60) == 2
    refused.stop()
    assert "refusing to listen on 0.0.0.0" in "\n".join(refused.lines())
