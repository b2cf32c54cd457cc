"""The installed base and MACD through the API, on SQLite and PostgreSQL: completed orders
record assets (TMF637) and technical inventory items; later orders that modify or disconnect
those assets derive each line's action from them."""

from __future__ import annotations

from ..support.tmf import add, assets, change, inventory, lines, order, paths


def seed_owner(server) -> dict[str, dict]:
    """cust-42 owns the seed order's phone and plan; their TMF637 products by offering."""
    order_id = server.post_order().json()["id"]
    assert server.wait_for(order_id)["state"] == "completed"
    return assets(server)


def place(server, body) -> dict:
    resp = server.post_order(body)
    assert resp.status_code == 201, resp.text
    return server.wait_for(resp.json()["id"])


def test_a_completed_order_records_the_assets_and_the_technical_inventory_behind_them(server):
    owned = seed_owner(server)
    phone, plan = owned["phone"]["id"], owned["mobile-plan"]["id"]
    items = inventory(server)

    assert set(items) == {f"{phone}/device-shipment", "account:cust-42/billing-account",
                          f"{plan}/sim-card", f"{plan}/mobile-line", f"{plan}/billing-subscription"}
    line = items[f"{plan}/mobile-line"]
    assert line["status"] == "active" and line["assets"] == [plan]
    assert line["attributes"]["tier"] == "unlimited" and line["attributes"]["msisdn"]  # from the network
    account = items["account:cust-42/billing-account"]
    assert sorted(account["assets"]) == sorted([phone, plan])
    assert account["attributes"]["account_id"] == owned["phone"]["billingAccount"]["id"]
    assert {trace["line"] for trace in line["lines"]} == {"2/mobile-line"}


def test_add_then_modify_changes_only_the_line_whose_mapped_attribute_changed(server):
    plan = seed_owner(server)["mobile-plan"]["id"]
    msisdn = inventory(server)[f"{plan}/mobile-line"]["attributes"]["msisdn"]

    done = place(server, order(change("1", "modify", plan, port_number="+31611112222")))

    assert done["state"] == "completed"
    assert done["productOrderItem"][0]["productOffering"]["id"] == "mobile-plan"  # from the asset
    assert {p: ln["action"] for p, ln in lines(server, done["id"]).items()} == {
        "billing-account": "noChange", "sim-card": "noChange", "mobile-line": "modify",
        "billing-subscription": "noChange"}
    assert [i["key"] for i in server.plan(done["id"])["items"]] == ["1/mobile-line#change", "assetize/1"]
    [request] = [r for r in server.simulator("network")["requests"] if r["path"] == "/lines/modify"]
    assert request["body"]["msisdn"] == msisdn and request["body"]["port_number"] == "+31611112222"
    after = {c["name"]: c["value"] for c in assets(server)["mobile-plan"]["productCharacteristic"]}
    assert after == {"tier": "unlimited", "port_number": "+31611112222"}
    line = inventory(server)[f"{plan}/mobile-line"]["attributes"]
    assert line["port_number"] == "+31611112222" and line["msisdn"] == msisdn


def test_a_change_with_nothing_relevant_changed_creates_no_plan_items(server):
    plan = seed_owner(server)["mobile-plan"]["id"]
    before = len(server.simulator("network")["requests"])

    resp = server.post_order(order(change("1", "modify", plan, tier="unlimited")))

    assert resp.status_code == 201 and resp.json()["state"] == "completed"
    assert server.plan(resp.json()["id"])["items"] == []
    assert {ln["action"] for ln in lines(server, resp.json()["id"]).values()} == {"noChange"}
    assert len(server.simulator("network")["requests"]) == before


def test_disconnecting_one_of_two_assets_that_share_the_account_keeps_it_until_the_last(server):
    owned = seed_owner(server)
    phone, plan = owned["phone"]["id"], owned["mobile-plan"]["id"]

    first = place(server, order(change("1", "delete", phone)))

    assert first["state"] == "completed"
    assert lines(server, first["id"])["billing-account"]["reason"] == "still used by 1 other asset: stays"
    gone = server.client.get(f"/tmf-api/productInventory/v4/product/{phone}").json()
    assert gone["status"] == "terminated" and gone["terminationDate"]
    account = inventory(server)["account:cust-42/billing-account"]
    assert account["status"] == "active" and account["assets"] == [plan]
    assert "/accounts/close" not in paths(server, "billing")

    last = place(server, order(change("1", "delete", plan)))

    assert last["state"] == "completed"
    billing = paths(server, "billing")
    assert billing.index("/subscriptions/stop") < billing.index("/accounts/close")
    [close] = [r for r in server.simulator("billing")["requests"] if r["path"] == "/accounts/close"]
    assert close["body"]["account"] == account["attributes"]["account_id"]
    assert "/lines/deactivate" in paths(server, "network") and "/sims/block" in paths(server, "network")
    assert {i["status"] for i in inventory(server).values()} == {"terminated"}


def test_adding_a_product_to_an_existing_account_reuses_the_account(server):
    first = seed_owner(server)

    done = place(server, order(add("1", "mobile-plan", tier="basic")))

    assert done["state"] == "completed"
    assert lines(server, done["id"])["billing-account"]["action"] == "noChange"
    assert paths(server, "billing").count("/accounts") == 1
    newest = assets(server)["mobile-plan"]
    assert newest["id"] != first["mobile-plan"]["id"]
    assert newest["billingAccount"] == first["phone"]["billingAccount"]
    assert len(inventory(server)["account:cust-42/billing-account"]["assets"]) == 3


def test_a_change_to_an_asset_the_customer_does_not_own_is_refused_and_changes_nothing(server):
    plan = seed_owner(server)["mobile-plan"]["id"]
    count = server.client.get("/tmf-api/productOrderingManagement/v4/productOrder").headers["X-Total-Count"]

    for body in (order(change("1", "modify", "no-such-product", tier="basic")),
                 order(change("1", "delete", plan), customer="cust-7")):
        resp = server.post_order(body)
        assert resp.status_code == 400 and resp.json()["code"] == "invalid-order"  # TMF622: 400
        assert resp.headers["content-type"] == "application/json;charset=utf-8"
        assert [e["field"] for e in resp.json()["errors"]] == ["productOrderItem[0].product.id"]

    listed = server.client.get("/tmf-api/productOrderingManagement/v4/productOrder")
    assert listed.headers["X-Total-Count"] == count
