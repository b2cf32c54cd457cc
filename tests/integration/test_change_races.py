"""Amendments racing item completions with several workers on PostgreSQL: no update is lost,
and no item ends both cancelled and completed."""

from __future__ import annotations

import copy
import random
import threading
from collections import defaultdict

import pytest

from ..support.invariants import history_problems
from ..support.live import ORDERS, SEED_ORDER, start_server

COLORS = ["black", "white", "blue", "red"]


def _items(color: str) -> list[dict]:
    items = copy.deepcopy(SEED_ORDER["productOrderItem"])
    items[0]["product"]["productCharacteristic"] = [{"name": "model", "value": "Fairphone 5"},
                                                    {"name": "color", "value": color}]
    return items


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_amendments_racing_completions_lose_no_update(pg_database_url):
    from ..conftest import _truncate

    _truncate(pg_database_url)
    server = start_server(pg_database_url, workers=3)
    try:
        server.set_simulator("warehouse", latency_ms=30)
        server.set_simulator("billing", latency_ms=30)
        order_ids = [server.post_order().json()["id"] for _ in range(12)]
        applied: dict[str, list[str]] = defaultdict(list)
        lock = threading.Lock()

        def amend(order_id: str, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(4):
                color = rng.choice(COLORS)
                resp = server.client.patch(f"{ORDERS}/{order_id}", json={"productOrderItem": _items(color)})
                assert resp.status_code in (200, 409), resp.text  # 409: past PONR, or completed
                if resp.status_code == 200:
                    with lock:
                        applied[order_id].append(color)

        threads = [threading.Thread(target=amend, args=(o, n)) for n, o in enumerate(order_ids)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        try:
            orders = [server.wait_for(o, timeout=60) for o in order_ids]
        except AssertionError:
            with server.container.store.read() as uow:
                for o in order_ids:
                    rows = uow.plan.for_order(o)
                    if any(r["state"] not in ("completed", "cancelled", "skipped", "compensated") for r in rows):
                        print("STUCK", o, [(r["revision"], r["key"], r["state"], r["pending_deps"]) for r in rows])
            raise

        assert {o["state"] for o in orders} == {"completed"}
        with server.container.store.read() as uow:
            for order in orders:
                assert not history_problems(uow, order["id"])
                # the phone the customer owns has the colour of the last accepted revision
                final = applied[order["id"]][-1] if applied[order["id"]] else "blue"
                phone = next(a for a in uow.inventory.snapshot("cust-42").assets.values()
                             if a.offering_id == "phone" and a.status == "active"
                             and uow.assets.get(a.id)["order_id"] == order["id"])
                assert phone.attributes["color"] == final
    finally:
        server.stop()
