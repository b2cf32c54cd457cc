"""The seed scenario, end to end through HTTP to the simulators, on SQLite and PostgreSQL:
a customer orders a phone and a mobile plan; the order completes."""

from __future__ import annotations

from datetime import datetime


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_seed_order_is_acknowledged_then_completes_with_every_item_done(server):
    resp = server.post_order()
    assert resp.status_code == 201
    created = resp.json()
    # the answer shows the order as it is then: acknowledged, or already in progress if a
    # worker claimed its first item between the commit and the answer
    assert created["state"] in ("acknowledged", "inProgress")
    assert resp.headers["location"].endswith(created["id"])

    order = server.wait_for(created["id"])

    assert order["state"] == "completed"
    assert order["completionDate"]
    assert [i["state"] for i in order["productOrderItem"]] == ["completed", "completed"]
    assert {i["state"] for i in server.plan(created["id"])["items"]} == {"completed"}


def test_seed_order_decomposes_into_the_technical_products_with_lineage(server):
    order_id = server.post_order().json()["id"]
    decomposition = server.client.get(f"/api/v1/orders/{order_id}/decomposition").json()

    lines = {ln["technical_product"]: ln for ln in decomposition["lines"]}
    assert set(lines) == {"device-shipment", "sim-card", "mobile-line", "billing-subscription",
                          "billing-account"}
    assert {ln["action"] for ln in lines.values()} == {"add"}
    assert lines["device-shipment"]["attributes"] == {"model": "Fairphone 5", "color": "blue"}
    assert lines["mobile-line"]["attributes"]["tier"] == "unlimited"
    assert lines["mobile-line"]["attributes"]["speed_profile"] == "5g-300mbps"
    assert lines["billing-subscription"]["attributes"] == {"product": "mobile-plan", "plan": "unlimited"}
    assert lines["device-shipment"]["lineage"] == ["1"]
    assert lines["sim-card"]["lineage"] == ["2"]
    assert lines["mobile-line"]["lineage"] == ["2"]
    # one billing account for the customer, shared by both billable items
    assert lines["billing-account"]["lineage"] == ["1", "2"]
    assert lines["billing-account"]["scope"] == "account"
    assert decomposition["catalog_version"].startswith("2026.11.1+")


def test_seed_plan_activates_the_line_only_after_the_sim_shipped(server):
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)
    items = {i["key"]: i for i in server.plan(order_id)["items"]}

    ship_sim, activate = items["2/sim-card#ship"], items["2/mobile-line#activate"]
    start_billing = items["2/billing-subscription#start"]
    assert activate["depends_on"] == [ship_sim["id"]]
    assert activate["ponr"] is True
    assert set(start_billing["depends_on_keys"]) == {"2/mobile-line#activate",
                                                     "account:cust-42/billing-account#open"}
    assert items["1/device-shipment#ship"]["depends_on"] == []
    assert _ts(ship_sim["finished_at"]) <= _ts(activate["started_at"])
    assert _ts(activate["finished_at"]) <= _ts(start_billing["started_at"])
    assert {k for k in items if k.startswith("assetize/")} == {"assetize/1", "assetize/2"}
    # the line's msisdn came back from the network and was written to the line
    lines = server.client.get(f"/api/v1/orders/{order_id}/decomposition").json()["lines"]
    assert next(ln for ln in lines if ln["technical_product"] == "mobile-line")["attributes"]["msisdn"]


def test_simulators_receive_the_calls_in_dependency_order_with_stable_idempotency_keys(server):
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)
    items = {i["key"]: i for i in server.plan(order_id)["items"]}
    warehouse = server.simulator("warehouse")["requests"]
    network = server.simulator("network")["requests"]
    billing = server.simulator("billing")["requests"]

    assert [r["body"]["kind"] for r in warehouse] and sorted(r["body"]["kind"] for r in warehouse) == ["device", "sim"]
    device = next(r for r in warehouse if r["body"]["kind"] == "device")
    assert device["body"]["model"] == "Fairphone 5" and device["body"]["color"] == "blue"
    sim = next(r for r in warehouse if r["body"]["kind"] == "sim")
    assert len(network) == 1 and network[0]["path"] == "/lines/activate"
    assert network[0]["body"]["tier"] == "unlimited"
    assert _ts(sim["received_at"]) < _ts(network[0]["received_at"])
    subscription = next(r for r in billing if r["path"] == "/subscriptions")
    assert _ts(network[0]["received_at"]) < _ts(subscription["received_at"])
    # the Idempotency-Key of each callout is its plan item's id
    assert network[0]["idempotency_key"] == items["2/mobile-line#activate"]["id"]
    assert sim["idempotency_key"] == items["2/sim-card#ship"]["id"]


def test_completed_order_records_the_customers_assets_in_tmf637(server):
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)
    resp = server.client.get("/tmf-api/productInventory/v4/product",
                             params={"relatedParty.id": "cust-42"})
    assert resp.status_code == 200
    products = {p["productOffering"]["id"]: p for p in resp.json()}
    assert set(products) == {"phone", "mobile-plan"}
    assert resp.headers["X-Total-Count"] == "2"
    phone = products["phone"]
    assert {c["name"]: c["value"] for c in phone["productCharacteristic"]} == {
        "model": "Fairphone 5", "color": "blue"}
    assert phone["status"] == "active"
    assert phone["productOrderItem"][0]["productOrderId"] == order_id
    assert phone["relatedParty"] == [{"id": "cust-42", "role": "customer", "@referredType": "Individual"}]
    one = server.client.get(f"/tmf-api/productInventory/v4/product/{phone['id']}").json()
    assert one["id"] == phone["id"]


def test_every_state_change_is_recorded_with_time_and_cause(server):
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)
    events = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
    order_changes = [(e["from"], e["to"]) for e in events if e["type"] == "ProductOrderStateChangeEvent"]
    assert order_changes == [("acknowledged", "inProgress"), ("inProgress", "completed")]
    assert all(e["at"] and e["cause"] for e in events if "cause" in e)
    activation = [e for e in events if e["type"] == "PlanItemStateChangeEvent"
                  and e["key"] == "2/mobile-line#activate"]
    assert [(e["from"], e["to"]) for e in activation] == [
        ("pending", "ready"), ("ready", "running"), ("running", "completed")]
