"""100 seed orders against a network that fails one request in five: every order completes
through retries; none is lost, none is stuck, and every attempt is recorded."""

from __future__ import annotations

import pytest

from ..support.catalogs import write_catalog


def _retry_fast(docs):
    for system in docs["systems.yaml"]["systems"]:
        system["retry"] = {"strategy": "exponential", "initial": "20ms", "factor": 2, "cap": "200ms",
                           "jitter": 0.5, "max_attempts": 12}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_hundred_seed_orders_complete_despite_a_flaky_network(server_factory, tmp_path):
    server = server_factory(catalog_path=str(write_catalog(tmp_path / "catalog", _retry_fast)), workers=2)
    server.set_simulator("network", failure_rate=0.2, seed=7)

    order_ids = []
    for n in range(100):
        resp = server.post_order()
        assert resp.status_code == 201
        order_ids.append(resp.json()["id"])
    orders = [server.wait_for(o, timeout=240) for o in order_ids]

    assert [o["state"] for o in orders] == ["completed"] * 100
    listed = server.client.get("/tmf-api/productOrderingManagement/v4/productOrder",
                               params={"limit": 1000, "fields": "state"})
    assert listed.headers["X-Total-Count"] == "100"
    activations = [next(i for i in server.plan(o)["items"] if i["key"] == "2/mobile-line#activate")
                   for o in order_ids]
    assert all(a["state"] == "completed" for a in activations)
    network = server.simulator("network")["requests"]
    failed = [r for r in network if r["status"] == 503]
    assert failed, "the network failed nothing: the test proves nothing"
    # every request the network saw is an attempt ordertower recorded, and vice versa
    total_attempts = sum(a["attempts"] for a in activations)
    assert total_attempts == len(network) == 100 + len(failed)
    recorded = sum(len(server.client.get(f"/api/v1/plan-items/{a['id']}/attempts").json()["attempts"])
                   for a in activations)
    assert recorded == total_attempts
    assert server.client.get("/api/v1/fallout").json()["count"] == 0
    assert len(server.client.get("/tmf-api/productInventory/v4/product",
                                 params={"limit": 1000}).json()) == 200
