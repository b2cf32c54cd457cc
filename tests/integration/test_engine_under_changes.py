"""The engine while orders change under it, on PostgreSQL: the lease heartbeat, the sweeps,
amendments and operators' system switches all lock in one order (engine/locks.py), so none
of them deadlocks and no request fails; and the background writers never wait for a lock."""

from __future__ import annotations

import copy
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Callable

import httpx
import pytest
import sqlalchemy as sa

from ordertower.adapters.catalog_files import REFERENCE_CATALOG
from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.unit_of_work import Store
from ordertower.engine import holds, jeopardy, leases, timers
from ordertower.domain.clock import SystemClock

from ..conftest import _truncate
from ..support.engine import EngineHarness
from ..support.invariants import FINAL_ORDERS, assert_orders_consistent, owned
from ..support.live import SEED_ORDER
from ..support.processes import ORDERS, Process, ServeProcess, wait_until

pytestmark = pytest.mark.postgres

SYSTEMS = ("warehouse", "network", "billing")
LATENCY_MS = {"warehouse": 1000, "network": 700, "billing": 300}  # items are running
COLORS = ["black", "white", "red"]
TIERS = ["basic", "unlimited-plus"]


@pytest.fixture
def pg_url(pg_database_url):
    _truncate(pg_database_url)
    return pg_database_url


def _amended(order_item_changed: int, value: str) -> dict[str, Any]:
    """The seed order's items with the phone's colour (item 1) or the plan's tier (item 2)
    changed: one bundle touched per amendment."""
    items = copy.deepcopy(SEED_ORDER["productOrderItem"])
    if order_item_changed == 1:
        items[0]["product"]["productCharacteristic"] = [{"name": "model", "value": "Fairphone 5"},
                                                        {"name": "color", "value": value}]
    else:
        items[1]["product"]["productCharacteristic"] = [{"name": "tier", "value": value}]
    return {"productOrderItem": items}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_200_orders_3_workers_50_amendments_and_50_system_switches(tmp_path, pg_url):
    # API and simulators in one process, three worker processes (they find serve through the
    # database); a short lease, so the heartbeat runs often while amendments lock items
    serve = ServeProcess(tmp_path, pg_url, "--workers", "0")
    workers = [Process(["worker", "--database", pg_url, "--log-format", "json", "--poll-seconds", "0.2",
                        "--lease-seconds", "2"], tmp_path / f"worker-{n}.log", tmp_path)
               for n in range(3)]
    engine = create_db_engine(pg_url)
    store = Store(engine, SystemClock())
    started = time.monotonic()
    phases: dict[str, float] = {}
    try:
        serve.wait_ready()
        phases["serve ready"] = time.monotonic() - started
        for system, latency in LATENCY_MS.items():
            serve.client.put(f"/simulators/{system}", json={"latency_ms": latency}).raise_for_status()

        responses: list[tuple[str, int, Any]] = []
        lock = threading.Lock()
        local = threading.local()

        def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
            client = getattr(local, "client", None)
            if client is None:
                # no keep-alive: an idle connection the server is closing is no failure of ours
                client = local.client = httpx.Client(base_url=serve.url, timeout=60,
                                                     limits=httpx.Limits(max_keepalive_connections=0))
            resp = client.request(method, url, **kwargs)
            with lock:
                responses.append((f"{method} {url}", resp.status_code,
                                  resp.json() if resp.status_code >= 400 else None))
            return resp

        with ThreadPoolExecutor(16) as pool:
            order_ids = list(pool.map(lambda _: call("POST", ORDERS, json=SEED_ORDER).json()["id"],
                                      range(200)))
        phases["200 orders placed"] = time.monotonic() - started
        for w in workers:
            wait_until(lambda: w.logged("worker started"), 60, "a worker to start")
        wait_until(lambda: _count(engine, "state = 'running'") >= 50, 30, "items to be running")
        phases["workers running"] = time.monotonic() - started

        # --- 50 amendments and 50 offline/online switches, all at once -----------------------
        rng = random.Random(7)
        amended = rng.sample(order_ids, 50)
        accepted: dict[str, tuple[int, str]] = {}

        def amend(n: int, order_id: str) -> None:
            which = 1 + n % 2
            value = rng.choice(COLORS if which == 1 else TIERS)
            resp = call("PATCH", f"{ORDERS}/{order_id}", json=_amended(which, value))
            if resp.status_code == 200:
                with lock:
                    accepted[order_id] = (which, value)

        def switch(n: int) -> None:
            system = SYSTEMS[n % 3]
            call("PUT", f"/api/v1/systems/{system}", json={"offline": (n // 3) % 2 == 0})

        jobs: list[Callable[[], None]] = [lambda n=n, o=o: amend(n, o) for n, o in enumerate(amended)]
        jobs += [lambda n=n: switch(n) for n in range(50)]
        rng.shuffle(jobs)
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda job: job(), jobs))
        phases["changes answered"] = time.monotonic() - started
        for system in SYSTEMS:
            assert call("PUT", f"/api/v1/systems/{system}", json={"offline": False}).status_code == 200

        finals = ", ".join(f"'{s}'" for s in FINAL_ORDERS)
        wait_until(lambda: _count(engine, f"state NOT IN ({finals})", "orders") == 0, 60,
                   "every order to end")
        phases["orders ended"] = time.monotonic() - started

        # --- no request failed, nothing deadlocked -----------------------------------------
        failed = [r for r in responses if r[1] >= 500]
        assert not failed, failed[:5]
        refusals = {r[2]["code"] for r in responses if r[1] == 409}  # TMF Error: code = kind
        assert refusals <= {"past-ponr", "conflict"}, refusals  # never "concurrent-change"
        assert all(r[1] in (200, 201, 409) for r in responses), \
            sorted({(r[0].split()[0], r[1]) for r in responses})
        logs = {p.log_path.name: p.lines() for p in [serve, *workers]}
        deadlocks = [(name, line) for name, lines in logs.items() for line in lines
                     if "deadlock detected" in line.lower()]
        assert not deadlocks, deadlocks[:3]
        errors = [(p.log_path.name, line) for p in [serve, *workers] for line in p.json_lines()
                  if line.get("level") in ("error", "critical")]
        assert not errors, errors[:3]

        # --- every order ended consistent ----------------------------------------------------
        keys = {s: {r["idempotency_key"] for r in serve.client.get(f"/simulators/{s}").json()["requests"]}
                for s in SYSTEMS}
        with store.read() as uow:
            assert {uow.orders.get(o)["state"] for o in order_ids} == {"completed"}
            assert_orders_consistent(uow, order_ids, keys)
            for order_id in order_ids:  # the customer owns what the last accepted change asked for
                which, value = accepted.get(order_id, (0, None))
                expected = {"1": ("phone", value if which == 1 else "blue"),
                            "2": ("mobile-plan", value if which == 2 else "unlimited")}
                assert owned(uow, order_id) == expected, order_id
        applied = sum(1 for r in responses if r[0].startswith("PATCH") and r[1] == 200)
        print(f"\n{len(accepted)}/50 amendments applied ({applied}), "
              f"{sum(1 for r in responses if r[0].startswith('PATCH') and r[1] == 409)} refused; "
              f"timeline (s): {', '.join(f'{k} {v:.1f}' for k, v in phases.items())}; "
              f"retried transactions: {sum('transaction conflict' in ln for lines in logs.values() for ln in lines)}")
    finally:
        for p in workers:
            p.stop()
        serve.stop()
        engine.dispose()


def _count(engine: sa.Engine, where: str, table: str = "plan_items") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()


# --- the background writers never wait for a lock ---------------------------------------------

def _finishes(fn: Callable[[], Any], seconds: float = 5.0) -> Any:
    """``fn()`` run in a thread: its result, or a failure if it waited ``seconds``."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # pragma: no cover - reported below
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{getattr(fn, '__name__', fn)} waited for a lock"
    if "error" in out:
        raise out["error"]
    return out.get("value")


def test_the_heartbeat_and_the_sweeps_never_wait_for_an_amendments_locks(pg_url):
    world = EngineHarness(pg_url, catalog=REFERENCE_CATALOG)
    store = world.container.store
    blocker = create_db_engine(pg_url)
    try:
        order_id = world.place(SEED_ORDER)
        lease = timedelta(seconds=30)
        running = leases.claim(store, "w1", 10, lease)
        ids = [r["id"] for r in running]
        assert ids

        with blocker.connect() as conn, conn.begin():  # an amendment, half-way: order, then items
            conn.execute(sa.text("SELECT id FROM orders WHERE id = :o FOR UPDATE"), {"o": order_id})
            conn.execute(sa.text("SELECT id FROM plan_items WHERE order_id = :o FOR UPDATE"), {"o": order_id})

            assert _finishes(lambda: leases.renew_leases(store, "w1", ids, lease)) == (0, sorted(ids))
            world.advance(seconds=60)  # every lease has run out
            assert _finishes(lambda: leases.expire_leases(store)) == []
            _finishes(lambda: timers.sweep_timers(store))
            _finishes(lambda: jeopardy.sweep_jeopardy(store))
            _finishes(lambda: holds.sweep_holds(store))

        renewed, busy = leases.renew_leases(store, "w1", ids, lease)
        assert (renewed, busy) == (len(ids), [])
        world.advance(seconds=60)
        assert {r["id"] for r in leases.expire_leases(store)} == set(ids)
    finally:
        blocker.dispose()
        world.close()
