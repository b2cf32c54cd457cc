"""Issue 11 at scale, on PostgreSQL: 500 seed orders run by three ``ordertower worker``
processes, one of them SIGKILLed mid-run while some of its callouts are inside their system.
Every callout's work is done exactly once per ``Idempotency-Key`` (the simulators' request log
says so: a repeated key is answered with the stored reply, marked ``replayed``), with the
answer ordertower recorded; none is lost. Every request is an attempt ordertower recorded (a
retry after a time-out: same key) or the unrecorded one of an item whose lease expired: the
kill changes nothing but repeats with the same key."""

from __future__ import annotations

import copy
import signal
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.tables import events, item_attempts, orders, plan_items

from ..conftest import empty_pg_database
from ..support.live import SEED_ORDER
from ..support.processes import ORDERS, Process, ServeProcess
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow

ORDER_COUNT = 500  # issue 11's figure
ITEMS_PER_ORDER, CALLOUTS_PER_ORDER = 7, 5  # the seed order's plan: 5 callouts, 2 auto items
SYSTEMS = ("warehouse", "network", "billing")
LEASE_SECONDS = 3  # the killed worker's items come back within seconds
LATENCY_MS = 500  # each callout spends a while inside its system: the kill finds some there


def _seed_order(i: int) -> dict:
    """The seed order for a customer of its own: each opens its own billing account, so every
    order has the same 7-item plan (as benchmarks/order_bodies.py varies it)."""
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = f"scale-{i}"
    body["relatedParty"] = [{"id": f"scale-cust-{i}", "role": "customer", "@referredType": "Individual"}]
    return body


def _submit_all(url: str, count: int, clients: int = 4) -> list[str]:
    """POST ``count`` seed orders from ``clients`` concurrent keep-alive clients; the ids."""
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


def _worker(tmp_path, url: str, n: int) -> Process:
    # they find serve (its simulators) by the public URL serve recorded in the database
    return Process(["worker", "--database", url, "--log-format", "json", "--poll-seconds", "0.2",
                    "--lease-seconds", str(LEASE_SECONDS)], tmp_path / f"worker-{n}.log", tmp_path)


@pytest.fixture
def fresh_pg():
    """A new, empty PostgreSQL database of this test's own (serve migrates it), dropped after."""
    with empty_pg_database("ordertower_scale") as url:
        yield url


@pytest.mark.timeout(900)
def test_500_orders_three_workers_one_sigkilled_every_callout_done_once_per_idempotency_key(
        tmp_path, fresh_pg):
    url = fresh_pg
    serve = ServeProcess(tmp_path, url, "--workers", "0")  # API and simulators only
    workers: list[Process] = []
    engine = create_db_engine(url)
    started = time.monotonic()
    phases: dict[str, float] = {}
    try:
        serve.wait_ready(180)  # process start-up is slow on a busy machine
        for system in SYSTEMS:
            serve.client.put(f"/simulators/{system}", json={"latency_ms": LATENCY_MS}).raise_for_status()
        order_ids = _submit_all(serve.url, ORDER_COUNT)
        assert len(set(order_ids)) == ORDER_COUNT
        phases["submitted"] = time.monotonic() - started

        workers = [_worker(tmp_path, url, n) for n in range(3)]
        names = {}
        for w in workers:
            line = wait_until(lambda: w.logged("worker started"), 180, "a worker to start")[0]
            names[line["worker"]] = w
        phases["workers started"] = time.monotonic() - started

        def inside_a_system_when_a_fifth_is_done() -> tuple[str, int] | None:
            """Once a fifth of the plan items are completed: a worker with three callouts or more
            whose request a system has received and not yet answered (to kill mid-item), and
            how many."""
            with engine.connect() as conn:
                done = conn.execute(sa.select(sa.func.count()).select_from(plan_items)
                                    .where(plan_items.c.state == "completed")).scalar_one()
            if done < ORDER_COUNT * ITEMS_PER_ORDER // 5:
                return None
            pending = {e["idempotency_key"] for system in SYSTEMS  # at most 50 a system run at once
                       for e in serve.client.get(f"/simulators/{system}?limit=200").json()["requests"]
                       if e["status"] is None}
            with engine.connect() as conn:
                owners = Counter(owner for (owner,) in conn.execute(
                    sa.select(plan_items.c.lease_owner).where(plan_items.c.state == "running",
                                                              plan_items.c.id.in_(pending))))
            owner, n = max(owners.items(), key=lambda kv: kv[1], default=(None, 0))
            return (owner, n) if owner in names and n >= 3 else None

        killed, inside_at_kill = wait_until(inside_a_system_when_a_fifth_is_done, 300,
                                            "a fifth of the plan items completed, callouts in flight",
                                            poll=0.2)
        killed_at = datetime.now(UTC)
        names[killed].signal(signal.SIGKILL)
        assert names[killed].wait(30) == -signal.SIGKILL
        phases["killed"] = time.monotonic() - started
        with engine.connect() as conn:
            done_at_kill = conn.execute(sa.select(sa.func.count()).select_from(plan_items)
                                        .where(plan_items.c.state == "completed")).scalar_one()

        def unfinished_orders() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.select(sa.func.count()).select_from(orders)
                                    .where(orders.c.state != "completed")).scalar_one()

        wait_until(lambda: unfinished_orders() == 0, 300, "every order to complete", poll=0.5)
        phases["all completed"] = time.monotonic() - started

        # --- what the database says: every order and plan item completed, none lost ---------
        with engine.connect() as conn:
            order_states = Counter(s for (s,) in conn.execute(
                sa.select(orders.c.state).where(orders.c.id.in_(order_ids))))
            items = {r["id"]: r for r in conn.execute(
                sa.select(plan_items.c.id, plan_items.c.key, plan_items.c.type, plan_items.c.system,
                          plan_items.c.state, plan_items.c.output)).mappings()}
            attempts = conn.execute(sa.select(
                item_attempts.c.item_id, item_attempts.c.worker, item_attempts.c.outcome,
                item_attempts.c.status_code, item_attempts.c.error)).all()
            # every lease that expired: the killed worker's after its death (the items it held),
            # and any a live worker lost (on a busy machine its renewal can come too late: its
            # outcome is then discarded and the item runs again, with the same key)
            expiries = [(item_id, payload["cause"], at) for item_id, payload, at in conn.execute(
                sa.select(events.c.item_id, events.c.payload, events.c.occurred_at)
                .where(events.c.type == "PlanItemStateChangeEvent"))
                if payload.get("cause", "").startswith("lease of ")]
        expired = {i for i, cause, at in expiries if cause == f"lease of {killed} expired" and at >= killed_at}
        lost_alive = Counter(cause for i, cause, at in expiries if i not in expired)
        expired_any = Counter(i for i, _, _ in expiries)
        assert order_states == {"completed": ORDER_COUNT}
        assert len(items) == ORDER_COUNT * ITEMS_PER_ORDER
        assert Counter(i["state"] for i in items.values()) == {"completed": len(items)}
        callouts = {i["id"]: i for i in items.values() if i["type"] == "callout"}
        assert len(callouts) == ORDER_COUNT * CALLOUTS_PER_ORDER
        assert expired, "the killed worker held running items: they came back when its leases expired"
        ok = Counter(a.item_id for a in attempts if a.outcome == "ok")
        assert all(ok[item_id] == 1 for item_id in items), "an item recorded done twice, or never"
        assert not [a for a in attempts if a.worker == killed and a.item_id in expired]  # it was dead

        # --- what the simulators say: the work was done once per key ------------------------
        received = defaultdict(list)  # idempotency key -> [(system, request log entry)]
        for system in SYSTEMS:
            log = serve.client.get(f"/simulators/{system}", timeout=60).json()["requests"]
            for entry in log:
                received[entry["idempotency_key"]].append((system, entry))
        assert None not in received, "a callout without an Idempotency-Key"
        assert received.keys() == callouts.keys()  # one key per callout item: none lost, none extra
        for key, entries in received.items():
            assert {system for system, _ in entries} == {callouts[key]["system"]}
            answered = [e for _, e in entries if e["status"] and 200 <= e["status"] < 300]
            done = [e for e in answered if not e["replayed"]]
            assert len(done) == 1, (key, entries)  # executed once; any repeat got the stored reply
            # every answer for the key was the same one, and it is what ordertower recorded
            assert {e["response_id"] for e in answered} == {callouts[key]["output"]["id"]}, (key, entries)

        # --- SIGKILL changed nothing but repeats with the same key ---------------------------
        # every request a system received is an attempt ordertower recorded (the retry of a
        # time-out, say, is one: same key), or one whose lease expired before it was recorded:
        # the one each of the killed worker's items was running when it died (sent, maybe
        # answered, never recorded), and any a live worker lost its lease on
        recorded = Counter(a.item_id for a in attempts)
        unrecorded = {key: len(entries) - recorded[key] for key, entries in received.items()
                      if len(entries) > recorded[key]}
        unexplained = {key: n for key, n in unrecorded.items() if n > expired_any[key]}
        assert not unexplained, [(callouts[k]["key"], [a for a in attempts if a.item_id == k], received[k])
                                 for k in list(unexplained)[:3]]
        repeated = {key: len(entries) for key, entries in received.items() if len(entries) > 1}
        by_the_kill = set(unrecorded) & set(repeated) & expired
        # some of its requests were inside their system when it died: sent again, same key
        assert by_the_kill, "no key of the killed worker's items was sent again"
        replayed = sum(e["replayed"] for entries in received.values() for _, e in entries)
        retries = Counter((a.status_code, (a.error or "")[:60]) for a in attempts if a.outcome != "ok")
        errors = [(p.log_path.name, line) for p in (serve, *workers) if p is not names[killed]
                  for line in p.json_lines() if line.get("level") in ("error", "critical")]
        assert not errors, [(name, line.get("event"), line.get("exception", "")[-1500:])
                            for name, line in errors[:3]]

        print(f"\n{ORDER_COUNT} orders, {len(items)} plan items ({len(callouts)} callouts), 3 workers; "
              f"killed {killed} with {inside_at_kill} requests inside a system, {done_at_kill} items completed; "
              f"{len(expired)} of its items came back on lease expiry, {len(by_the_kill)} of them sent "
              f"again (same key); {len(repeated)} keys repeated in all, {sum(repeated.values()) - len(repeated)} "
              f"repeat requests, {replayed} answered with the stored reply; leases lost by live workers: "
              f"{sum(lost_alive.values())} {dict(lost_alive)}; attempts not ok (retried): "
              f"{sum(retries.values())} {dict(retries)}")
        print("timeline (s): " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    finally:
        for w in workers:
            w.stop()
        serve.stop()
        engine.dispose()
