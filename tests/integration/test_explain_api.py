"""``POST /api/v1/catalog/explain``, on SQLite and PostgreSQL: the decomposition tree and the
plan an order would get, against the customer's installed base, with nothing stored."""

from __future__ import annotations

from ..support.live import SEED_ORDER
from ..support.tmf import assets, change, order

EXPLAIN = "/api/v1/catalog/explain"


def orders_stored(server) -> str:
    return server.client.get("/tmf-api/productOrderingManagement/v4/productOrder").headers["X-Total-Count"]


def test_explain_shows_the_tree_and_the_plan_and_stores_nothing(server):
    resp = server.client.post(EXPLAIN, json=SEED_ORDER)

    assert resp.status_code == 200
    body = resp.json()
    assert body["stored"] is False and body["installed_base"] is True
    phone, plan = body["items"]
    shipment = next(r for r in phone["rules"] if r["rule"] == "phone-ships-device")
    assert shipment["line"]["attributes"]["color"] == {"value": "blue", "how": "copy of color"}
    assert len(body["plan"]["items"]) == 7
    assert orders_stored(server) == "0"
    assert server.simulator("warehouse")["requests"] == []


def test_explain_of_a_change_derives_actions_from_the_installed_base(server):
    server.wait_for(server.post_order().json()["id"])
    plan = assets(server)["mobile-plan"]["id"]

    body = server.client.post(EXPLAIN, json=order(change("1", "modify", plan, tier="basic"))).json()

    [item] = body["items"]
    made = {r["line"]["technical_product"]: r["line"] for r in item["rules"] if r["line"]}
    assert {p: ln["action"] for p, ln in made.items()} == {
        "billing-account": "noChange", "sim-card": "noChange", "mobile-line": "modify",
        "billing-subscription": "modify"}
    assert made["mobile-line"]["reason"] == ("changed: speed_profile '5g-300mbps' -> '4g-10mbps', "
                                             "tier 'unlimited' -> 'basic'")
    assert [i["key"] for i in body["plan"]["items"]] == [
        "1/mobile-line#change", "1/billing-subscription#change", "assetize/1"]
    assert orders_stored(server) == "1"


def test_explain_refuses_a_bad_order_as_placing_it_would(server):
    bad = order({"id": "1", "action": "add", "productOffering": {"id": "mobile-plan"},
                 "product": {"productCharacteristic": [{"name": "tier", "value": "gold"}]}})

    resp = server.client.post(EXPLAIN, json=bad)

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "productOrderItem[0].product.productCharacteristic[0].value"
    assert server.client.post(EXPLAIN, content=b"{", headers={"content-type": "application/json"}
                              ).status_code == 400
