"""Real ``serve`` and ``worker`` processes while their PostgreSQL goes away: restarted under
three busy workers, or not yet started when they start. Each test runs on a throw-away cluster
of its own (tests/support/pg_cluster.py), never on the shared server. And a SQLite URL whose
folder does not exist is a clear start-up error, not a wait."""

from __future__ import annotations

from collections import Counter, defaultdict
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.unit_of_work import Store
from ordertower.domain.clock import SystemClock

from ..support.invariants import assert_orders_consistent
from ..support.live import SEED_ORDER
from ..support.processes import ORDERS, Process, ServeProcess, clean_env
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow
SYSTEMS = ("warehouse", "network", "billing")


def _worker(tmp_path, url: str, n: int, *extra: str) -> Process:
    return Process(["worker", "--database", url, "--log-format", "json", "--poll-seconds", "0.2",
                    "--lease-seconds", "5", *extra], tmp_path / f"worker-{n}.log", tmp_path)


def _post(client: httpx.Client) -> str:
    resp = client.post(ORDERS, json=SEED_ORDER)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _errors(*processes: Process) -> list[tuple[str, dict]]:
    return [(p.log_path.name, line) for p in processes for line in p.json_lines()
            if line.get("level") in ("error", "critical")]


@pytest.mark.timeout(480)
def test_postgresql_restarted_while_three_workers_run_a_hundred_orders(tmp_path, throwaway_pg):
    cluster, url = throwaway_pg
    serve = ServeProcess(tmp_path, url, "--workers", "0")  # API and simulators
    workers = [_worker(tmp_path, url, n) for n in range(3)]  # they find serve in the database
    engine = create_db_engine(url)
    started = time.monotonic()
    phases: dict[str, float] = {}
    try:
        serve.wait_ready(180)  # process start-up is slow on a busy machine
        for system in SYSTEMS:  # callouts are in flight when the database goes
            serve.client.put(f"/simulators/{system}", json={"latency_ms": 50}).raise_for_status()
        client = httpx.Client(base_url=serve.url, timeout=60)
        with ThreadPoolExecutor(8) as pool:
            order_ids = list(pool.map(lambda _: _post(client), range(100)))
        phases["placed"] = time.monotonic() - started
        for w in workers:
            wait_until(lambda: w.logged("worker started"), 180, "a worker to start")

        def completed_items() -> int:
            with engine.connect() as conn:
                return conn.exec_driver_sql(
                    "SELECT count(*) FROM plan_items WHERE state = 'completed'").scalar_one()

        wait_until(lambda: completed_items() >= 50, 120, "work to be under way")
        phases["under way"] = time.monotonic() - started
        cluster.stop("immediate")  # a crash: every session ends, nothing is checkpointed
        cluster.start()
        phases["restarted"] = time.monotonic() - started

        def all_ended() -> bool:
            try:
                with engine.connect() as conn:
                    return conn.exec_driver_sql(
                        "SELECT count(*) FROM orders WHERE state NOT IN ('completed', 'failed', "
                        "'partial', 'cancelled', 'rejected')").scalar_one() == 0
            except Exception:  # noqa: BLE001 - the pool meets the dead connections first
                return False

        wait_until(all_ended, 120, "every order to end")
        phases["ended"] = time.monotonic() - started
        print("timeline (s): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))

        # every worker lived through it, and said it backed off
        assert [w.popen.poll() for w in workers] == [None, None, None]
        assert any(w.logged("database unavailable; backing off") or
                   w.logged("recording failed: database unavailable; retrying") for w in workers)
        errors = _errors(serve, *workers)
        assert not errors, [(name, line.get("event"), line.get("exception", "")[-1500:])
                            for name, line in errors[:3]]

        # every order completed, consistent; no callout ran twice without its idempotency key
        requests = {s: client.get(f"/simulators/{s}").json()["requests"] for s in SYSTEMS}
        keys = {s: {r["idempotency_key"] for r in reqs} for s, reqs in requests.items()}
        store = Store(engine, SystemClock())
        with store.read() as uow:
            assert {uow.orders.get(o)["state"] for o in order_ids} == {"completed"}
            assert_orders_consistent(uow, order_ids, keys)
            callouts = defaultdict(set)
            for order_id in order_ids:
                for item in uow.plan.for_order(order_id):
                    if item["type"] == "callout":
                        callouts[item["system"]].add(item["id"])
        for system, reqs in requests.items():
            assert all(r["idempotency_key"] for r in reqs), f"{system}: a request without a key"
            assert keys[system] == callouts[system], f"{system}: keys are not its callout items"
            # the work happened once per key: a repeat got the stored reply (replayed)
            done = Counter(r["idempotency_key"] for r in reqs
                           if r["status"] and 200 <= r["status"] < 300 and not r["replayed"])
            assert set(done.values()) == {1}, f"{system}: {done.most_common(3)}"
        client.close()
    finally:
        for w in workers:
            w.stop()
        serve.stop()
        engine.dispose()


@pytest.mark.timeout(360)
def test_serve_and_a_worker_started_before_postgresql_wait_for_it_then_work(tmp_path, throwaway_pg):
    cluster, url = throwaway_pg
    cluster.stop()
    serve = ServeProcess(tmp_path, url, "--workers", "0")
    worker = _worker(tmp_path, url, 0)
    try:
        def waited_twice(p: Process) -> list[dict]:
            assert p.popen.poll() is None, "exited:\n" + "\n".join(p.lines())
            lines = p.logged("waiting for the database")
            return lines if len(lines) >= 2 else []

        for process in (serve, worker):
            waits = wait_until(lambda: waited_twice(process), 90, "the process to say it waits")
            assert waits[1]["retry_in_s"] > waits[0]["retry_in_s"]  # backing off
            assert "cannot reach the database" in waits[0]["reason"]
        cluster.start()

        serve.wait_ready(180)  # process start-up is slow on a busy machine
        wait_until(lambda: worker.logged("worker started"), 180, "the worker to start")
        order = serve.post_order()
        serve.wait_for_state(order["id"], "completed")
        assert worker.logged("item recorded"), "the worker ran the order"
        assert worker.popen.poll() is None and serve.popen.poll() is None
    finally:
        worker.stop()
        serve.stop()


def test_a_sqlite_folder_that_does_not_exist_is_a_clear_error_at_start(tmp_path):
    url = f"sqlite:///{tmp_path}/no-such-folder/ordertower.db"
    for command in (["worker", "--database", url], ["serve", "--no-auth", "--database", url]):
        p = Process(command, tmp_path / f"{command[0]}.log", tmp_path, clean_env())
        try:
            assert p.wait(60) == 1
        finally:
            p.stop()
        output = "\n".join(p.lines())
        assert "Cannot start" in output and "no-such-folder" in output and "does not exist" in output
        assert not (tmp_path / "no-such-folder").exists()
