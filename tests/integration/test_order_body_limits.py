"""Order bodies at the door: the default limits take a 10,000-line order (about 2 MB) on
``POST productOrder`` (orders may be 16 MiB), refuse a 17 MiB one (a TMF Error whose code is
``payload-too-large``: TMF622 declares 400 for the operation, ordertower's 413 elsewhere) and
place nothing, and keep the 2 MiB limit of every other body (413 problem)."""

from __future__ import annotations

import json

from ordertower.config import Settings

from ..support.live import ORDERS

MiB = 1024 * 1024


def large_order(lines: int, tag: str = "large") -> dict:
    """An order of ``lines`` lines of the reference catalog, phones and mobile plans."""
    items = []
    for i in range(lines):
        if i % 2 == 0:
            offering, chars = "phone", [{"name": "model", "value": "Fairphone 5"},
                                        {"name": "color", "value": "blue"}]
        else:
            offering, chars = "mobile-plan", [{"name": "tier", "value": "basic"}]
        items.append({"id": str(i + 1), "action": "add", "productOffering": {"id": offering},
                      "product": {"productCharacteristic": chars}})
    return {"externalId": f"{tag}-{lines}", "relatedParty": [{"id": f"{tag}-cust", "role": "customer"}],
            "productOrderItem": items}


def _orders_of(client, external_id: str) -> int:
    return len(client.get(ORDERS, params={"externalId": external_id, "limit": 5}).json())


def test_the_default_limits_accept_a_10000_line_order(server_factory):
    server = server_factory(start_workers=False)  # accepted, not run: the engine is not tested here
    assert server.container.settings.max_order_body_bytes == Settings().max_order_body_bytes == 16 * MiB
    body = json.dumps(large_order(10_000)).encode()
    assert 1.5 * MiB < len(body) < 2.5 * MiB

    placed = server.client.post(ORDERS, content=body, headers={"Content-Type": "application/json"},
                                timeout=120)

    assert placed.status_code == 201, placed.text[:500]
    assert len(placed.json()["productOrderItem"]) == 10_000
    assert server.order(placed.json()["id"])["state"] == "acknowledged"


def test_a_17_mib_order_is_refused_as_too_large_and_nothing_is_placed(server_factory):
    server = server_factory(start_workers=False)
    order = large_order(10, tag="too-big")
    order["note"] = "x" * (17 * MiB)

    refused = server.client.post(ORDERS, content=json.dumps(order).encode(),
                                 headers={"Content-Type": "application/json"}, timeout=120)

    assert refused.status_code == 400  # the status TMF622 declares; the code says which
    problem = refused.json()
    assert problem["@type"] == "Error" and problem["code"] == "payload-too-large"
    assert [e["field"] for e in problem["errors"]] == ["body"]
    assert f"{16 * MiB} bytes" in problem["message"]
    assert _orders_of(server.client, "too-big-10") == 0


def test_bodies_other_than_orders_keep_the_2_mib_limit(server_factory):
    server = server_factory(start_workers=False)
    key = {"name": "x" * (3 * MiB), "role": "viewer"}

    refused = server.client.post("/api/v1/keys", json=key)

    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert f"{2 * MiB} bytes" in refused.json()["detail"]
