"""The engine against the simulators: retries, fallout, and a worker that dies mid-item."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ..support.catalogs import fast_retries, system, write_catalog
from ..support.live import start_server


@pytest.fixture
def fast_catalog(tmp_path):
    return str(write_catalog(tmp_path / "catalog", fast_retries))


def test_transient_failures_are_retried_with_the_same_idempotency_key_until_done(server_factory, fast_catalog):
    server = server_factory(catalog_path=fast_catalog)
    server.set_simulator("network", fail_next=2)

    order_id = server.post_order().json()["id"]
    order = server.wait_for(order_id)

    assert order["state"] == "completed"
    activation = next(i for i in server.plan(order_id)["items"] if i["key"] == "2/mobile-line#activate")
    assert activation["attempts"] == 3
    attempts = server.client.get(f"/api/v1/plan-items/{activation['id']}/attempts").json()["attempts"]
    assert [a["outcome"] for a in attempts] == ["retryable", "retryable", "ok"]
    assert [a["status_code"] for a in attempts] == [503, 503, 201]
    assert all(a["request"]["body"]["tier"] == "unlimited" and a["duration_ms"] >= 0 for a in attempts)
    keys = {r["idempotency_key"] for r in server.simulator("network")["requests"]}
    assert keys == {activation["id"]}


def test_an_item_whose_retries_are_spent_falls_out_and_holds_the_order(server_factory, tmp_path):
    catalog = write_catalog(tmp_path / "catalog", lambda docs: fast_retries(docs, max_attempts=3))
    server = server_factory(catalog_path=str(catalog))
    server.set_simulator("network", failure_rate=1.0)

    order_id = server.post_order().json()["id"]
    order = server.wait_for(order_id, states={"held"})

    items = {i["key"]: i for i in server.plan(order_id)["items"]}
    activation = items["2/mobile-line#activate"]
    assert activation["state"] == "fallout"
    assert activation["attempts"] == 3
    assert "503" in activation["last_error"]
    # work that does not depend on the failed item still finished; its successors wait
    assert items["1/device-shipment#ship"]["state"] == "completed"
    assert items["2/billing-subscription#start"]["state"] == "pending"
    assert order["state"] == "held"
    assert [i["state"] for i in order["productOrderItem"]] == ["completed", "held"]


def test_a_fatal_client_error_falls_out_at_once_without_retrying(server_factory, tmp_path):
    def broken_network(docs):
        fast_retries(docs)
        system(docs, "network")["base_url"] = "{simulators}/no-such-system"

    server = server_factory(catalog_path=str(write_catalog(tmp_path / "catalog", broken_network)))
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id, states={"held"})

    activation = next(i for i in server.plan(order_id)["items"] if i["key"] == "2/mobile-line#activate")
    assert activation["state"] == "fallout"
    assert activation["attempts"] == 1
    assert "404" in activation["last_error"]


def _worker(database_url: str, server, log_path, lease: float = 1.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ordertower.entrypoints.cli", "worker", "--database", database_url,
         "--simulators-url", f"{server.url}/simulators", "--lease-seconds", str(lease),
         "--poll-seconds", "0.05"],
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT, env=os.environ.copy())


@pytest.mark.slow
def test_a_worker_killed_mid_item_loses_its_lease_and_another_worker_finishes_the_plan(
        database_url, tmp_path):
    server = start_server(database_url, start_workers=False)
    first = second = None
    try:
        server.set_simulator("network", latency_ms=4000)
        order_id = server.post_order().json()["id"]
        first = _worker(database_url, server, tmp_path / "first.log")
        running = server.wait_for_item(order_id, "2/mobile-line#activate", {"running"}, timeout=60)
        in_flight = time.monotonic() + 30  # the network has the request and has not answered
        while not [r for r in server.simulator("network")["requests"] if r["status"] is None]:
            assert time.monotonic() < in_flight, "the activation never reached the network"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        server.set_simulator("network", latency_ms=0)

        second = _worker(database_url, server, tmp_path / "second.log")
        order = server.wait_for(order_id, timeout=60)

        assert order["state"] == "completed"
        items = {i["key"]: i for i in server.plan(order_id)["items"]}
        activation = items["2/mobile-line#activate"]
        assert activation["id"] == running["id"]
        assert activation["attempts"] == 2
        history = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
        assert any(e.get("to") == "ready" and "lease" in e.get("cause", "") and
                   e.get("key") == "2/mobile-line#activate" for e in history)
        # both attempts carried the same Idempotency-Key, so the network can deduplicate them
        network = server.simulator("network")["requests"]
        assert len(network) == 2 and {r["idempotency_key"] for r in network} == {activation["id"]}
    finally:
        for proc in (first, second):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        server.stop()


def test_several_workers_run_every_item_exactly_once(server_factory):
    server = server_factory(workers=3)
    order_ids = [server.post_order().json()["id"] for _ in range(15)]

    orders = [server.wait_for(order_id, timeout=120) for order_id in order_ids]

    assert {o["state"] for o in orders} == {"completed"}
    items = [i for oid in order_ids for i in server.plan(oid)["items"]]
    callouts = [i for i in items if i["type"] == "callout"]
    assert {i["attempts"] for i in items} == {1}
    received = [r for s in ("warehouse", "network", "billing") for r in server.simulator(s)["requests"]]
    assert sorted(r["idempotency_key"] for r in received) == sorted(i["id"] for i in callouts)
