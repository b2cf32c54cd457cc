"""Large orders are acknowledged at once and planned by a worker, on SQLite and PostgreSQL:
above the inline planning limit the order is stored with one ``plan-order`` item, and stays
``acknowledged`` until the transaction that completes that item stores its lines and plan."""

from __future__ import annotations

from ..support.catalogs import write_catalog
from ..support.live import SEED_ORDER
from ..support.tmf import add, lines, order

FOUR_PLANS = order(*(add(str(n), "mobile-plan", tier="basic") for n in range(1, 5)))


def test_an_order_above_the_limit_is_acknowledged_with_a_planning_item_then_planned_by_a_worker(
        server_factory):
    server = server_factory(inline_planning_limit=3)

    resp = server.post_order(FOUR_PLANS)

    assert resp.status_code == 201
    created = resp.json()
    assert created["state"] == "acknowledged"
    done = server.wait_for(created["id"])
    assert done["state"] == "completed"
    plan = server.plan(created["id"])["items"]
    assert plan[0]["key"] == "plan-order" and plan[0]["state"] == "completed"
    assert plan[0]["output"] == {"lines": 13, "plan_items": 17}  # 4 x (ship, activate, bill, assetize) + account
    assert {i["state"] for i in plan} == {"completed"} and len(plan) == 18
    assert len(lines(server, created["id"])) == 4  # by product: sim, line, subscription, account
    events = server.client.get(f"/api/v1/orders/{created['id']}/history").json()["events"]
    planned = next(n for n, e in enumerate(events) if e["type"] == "PlanItemStateChangeEvent"
                   and e["key"] == "plan-order" and e["to"] == "completed")
    started = next(n for n, e in enumerate(events) if e["type"] == "ProductOrderStateChangeEvent")
    assert events[started]["from"] == "acknowledged" and started > planned
    decomposition = server.client.get(f"/api/v1/orders/{created['id']}/decomposition").json()
    assert decomposition["catalog_version"] == server.container.catalog.version


def test_an_order_at_the_limit_is_planned_in_the_request(server_factory):
    server = server_factory(inline_planning_limit=4)

    created = server.post_order(FOUR_PLANS).json()

    assert "plan-order" not in [i["key"] for i in server.plan(created["id"])["items"]]
    assert len(server.plan(created["id"])["items"]) == 17


def test_a_large_order_the_catalog_cannot_plan_is_rejected_after_its_acknowledgement(
        server_factory, tmp_path):
    def unplannable(docs):  # a technical product without a scenario
        docs["telecom.yaml"]["technical_products"].append({"id": "esim-profile"})
        docs["telecom.yaml"]["rules"].append({"id": "plan-has-profile", "source": "mobile-plan",
                                              "target": "esim-profile"})

    server = server_factory(inline_planning_limit=3,
                            catalog_path=str(write_catalog(tmp_path / "catalog", unplannable)))

    created = server.post_order(FOUR_PLANS).json()
    done = server.wait_for(created["id"])

    assert created["state"] == "acknowledged"
    assert done["state"] == "rejected"
    assert "no orchestration scenario for esim-profile/add" in done["note"][-1]["text"]
    assert [i["key"] for i in server.plan(created["id"])["items"]] == ["plan-order"]


def test_the_default_server_takes_an_order_body_of_a_10000_line_size(server):
    """A 10,000-line order is about 2 MB of JSON: above the 2 MiB of other requests, within
    the 16 MiB an order may have (ORDERTOWER_MAX_ORDER_BODY_BYTES)."""
    body = dict(SEED_ORDER, note=[{"text": "x" * 1000} for _ in range(3000)])  # about 3 MB

    resp = server.post_order(body)

    assert resp.status_code == 201, resp.text[:300]
