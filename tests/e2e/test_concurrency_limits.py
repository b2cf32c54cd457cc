"""Issue 11's last goal, on PostgreSQL: a system's concurrency limit holds exactly across three
``ordertower worker`` processes, and a saturated system at the head of the queue never blocks
the other systems' items.

The warehouse may take 2 requests at once (``concurrency: 2``) and answers each after
``LATENCY_MS``; the other systems are unlimited (a large limit) and answer at once. 40 seed
orders (one customer each: each plan opens a billing account) are submitted before the
workers start, so the warehouse's 80 shipments (2 an order, due at once) head the queue: they
take at least 80 x 0.5 s / 2 = 20 s, one pair at a time.

- The limit holds: the warehouse's simulator counts the requests inside it at once
  (``peak_in_flight``): 2, never more, and it was used fully.
- Not blocked: each order's billing account opening depends on nothing, so it is due as
  early as the order's shipments (behind many of them in the queue). Every opening was
  answered while the warehouse still had a quarter of its requests to receive, by the
  simulators' own clock (``answered_at``, ``received_at``). A queue that served the saturated
  warehouse's items first would hold the last orders' openings until the warehouse reached
  them, near the very end. Each worker runs at most ``MAX_IN_FLIGHT`` = 2 items at once, so
  its claim's LIMIT is small: were a full system's items picked under it (and then dropped),
  its claims would come back empty while other systems' items wait. (With 2, even a worker
  holding both warehouse places, which leaves the warehouse out of its own claims, has no
  room left for other items; with 4 that worker alone kept them flowing and the check was
  blind to a claim that did not leave a full system out.)
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.tables import orders

from ..conftest import empty_pg_database
from ..support.catalogs import system, write_catalog
from ..support.live import SEED_ORDER
from ..support.processes import ORDERS, Process, ServeProcess
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow

ORDER_COUNT = 40
LIMITED, LIMIT, LATENCY_MS = "warehouse", 2, 500
SHIPMENTS_PER_ORDER = 2  # the phone and the SIM card
MAX_IN_FLIGHT = 2  # a worker claims few items at once: a saturated head could fill its claims
BACKLOG_LEFT = 1 / 4  # the share of the warehouse's requests still to come at the last opening


def _limited_warehouse(docs) -> None:
    for s in docs["systems.yaml"]["systems"]:
        s["concurrency"] = 1000
    system(docs, LIMITED)["concurrency"] = LIMIT


def _seed_order(i: int) -> dict:
    """The seed order for a customer of its own: each plan opens a billing account."""
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = f"limit-{i}"
    body["relatedParty"] = [{"id": f"limit-cust-{i}", "role": "customer", "@referredType": "Individual"}]
    return body


def _submit_all(url: str, count: int, clients: int = 4) -> list[str]:
    def one_client(k: int) -> list[str]:
        ids = []
        with httpx.Client(base_url=url, timeout=120) as client:
            for i in range(k, count, clients):
                resp = client.post(ORDERS, json=_seed_order(i))
                assert resp.status_code == 201, resp.text
                ids.append(resp.json()["id"])
        return ids

    with ThreadPoolExecutor(clients) as pool:
        return [i for ids in pool.map(one_client, range(clients)) for i in ids]


@pytest.fixture
def fresh_pg():
    """A new, empty PostgreSQL database of this test's own (serve migrates it), dropped after."""
    with empty_pg_database("ordertower_limit") as url:
        yield url


@pytest.mark.timeout(600)
def test_a_concurrency_limit_holds_across_three_workers_and_a_saturated_system_blocks_no_other(
        tmp_path, fresh_pg):
    url = fresh_pg
    catalog = str(write_catalog(tmp_path / "catalog", _limited_warehouse))
    serve = ServeProcess(tmp_path, url, "--workers", "0", "--catalog", catalog)
    workers: list[Process] = []
    engine = create_db_engine(url)
    started = time.monotonic()
    phases: dict[str, float] = {}
    try:
        serve.wait_ready(180)
        serve.client.put(f"/simulators/{LIMITED}", json={"latency_ms": LATENCY_MS}).raise_for_status()
        order_ids = _submit_all(serve.url, ORDER_COUNT)
        assert len(set(order_ids)) == ORDER_COUNT
        phases["submitted"] = time.monotonic() - started

        workers = [Process(["worker", "--database", url, "--catalog", catalog, "--log-format", "json",
                            "--poll-seconds", "0.2", "--max-in-flight", str(MAX_IN_FLIGHT)],
                           tmp_path / f"worker-{n}.log", tmp_path) for n in range(3)]
        for w in workers:
            wait_until(lambda: w.logged("worker started"), 180, "a worker to start")
        phases["workers started"] = time.monotonic() - started

        def unfinished_orders() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(orders)
                                    .where(orders.c.state != "completed")).scalar_one()

        wait_until(lambda: unfinished_orders() == 0, 300, "every order to complete", poll=0.5)
        phases["all completed"] = time.monotonic() - started

        with engine.connect() as conn:
            states = Counter(s for (s,) in conn.execute(
                sa.select(orders.c.state).where(orders.c.id.in_(order_ids))))
        assert states == {"completed": ORDER_COUNT}

        # --- the limit held, and was used fully ----------------------------------------------
        warehouse = serve.client.get(f"/simulators/{LIMITED}", timeout=60).json()
        shipments = warehouse["requests"]
        assert len(shipments) == ORDER_COUNT * SHIPMENTS_PER_ORDER  # nothing failed, nothing repeated
        assert warehouse["in_flight"] == 0
        assert warehouse["peak_in_flight"] == LIMIT, warehouse["peak_in_flight"]

        # --- the saturated warehouse blocked no other system ---------------------------------
        billing = serve.client.get("/simulators/billing", timeout=60).json()["requests"]
        openings = [r for r in billing if r["path"] == "/accounts"]
        assert len(openings) == ORDER_COUNT and all(r["status"] == 201 for r in openings)
        last_opening = max(r["answered_at"] for r in openings)  # ISO UTC, same clock: comparable
        still_to_come = sum(r["received_at"] > last_opening for r in shipments)
        assert still_to_come >= BACKLOG_LEFT * len(shipments), (
            f"the last billing account was opened when only {still_to_come} of the warehouse's "
            f"{len(shipments)} requests were still to come: held behind the saturated warehouse?")

        errors = [(p.log_path.name, line) for p in (serve, *workers)
                  for line in p.json_lines() if line.get("level") in ("error", "critical")]
        assert not errors, [(name, line.get("event"), line.get("exception", "")[-1500:])
                            for name, line in errors[:3]]
        first, last = min(r["received_at"] for r in shipments), max(r["received_at"] for r in shipments)
        print(f"\n{ORDER_COUNT} orders, 3 workers (max {MAX_IN_FLIGHT} items each); {LIMITED}: "
              f"peak {warehouse['peak_in_flight']} in flight (limit {LIMIT}), {len(shipments)} requests "
              f"from {first} to {last}; last billing opening answered {last_opening}, "
              f"{still_to_come} warehouse requests after it")
        print("timeline (s): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    finally:
        for w in workers:
            w.stop()
        serve.stop()
        engine.dispose()
