"""Cancelling an order, or amending an item away, leaves the installed base (TMF637) as if the
withdrawn work had never happened (issue 10, defect 2), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ordertower.adapters.catalog_files import REFERENCE_CATALOG

from ..support.engine import EngineHarness, order_body
from ..support.live import ORDERS

CANCEL = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
PRODUCTS = "/tmf-api/productInventory/v4/product"


@pytest.fixture
def world(database_url):
    harness = EngineHarness(database_url, catalog=REFERENCE_CATALOG)
    yield harness
    harness.close()


def products(world, customer: str) -> dict[str, dict]:
    found = world.api("GET", PRODUCTS, params={"relatedParty.id": customer}).json()
    return {p["productOffering"]["id"]: p for p in found}



def phone_and_plan(customer: str) -> dict:
    return order_body(("1", "phone", {"model": "Fairphone 5", "color": "blue"}),
                      ("2", "mobile-plan", {"tier": "unlimited"}), customer=customer)


def test_cancelling_after_the_phone_was_assetized_terminates_the_phone_product(world):
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})  # the plan cannot activate
    order_id = world.place(phone_and_plan("cust-cancel"))
    world.settle()
    assert world.item(order_id, "assetize/1")["state"] == "completed"
    assert products(world, "cust-cancel")["phone"]["status"] == "active"

    resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}, "cancellationReason": "changed mind"})
    assert resp.status_code == 201, resp.text
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "cancelled"
    assert world.item(order_id, "assetize/1")["state"] == "compensated"
    phone = products(world, "cust-cancel")["phone"]
    assert phone["status"] == "terminated"
    with world.container.store.read() as uow:
        items = {i["key"]: i["status"] for i in uow.inventory.items("cust-cancel")}
    assert items and set(items.values()) == {"terminated"}, items


def test_amending_the_phone_away_after_it_was_assetized_terminates_it_and_its_inventory(world):
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(phone_and_plan("cust-drop"))
    world.settle()
    assert products(world, "cust-drop")["phone"]["status"] == "active"

    body = phone_and_plan("cust-drop")
    body["productOrderItem"] = body["productOrderItem"][1:]
    resp = world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": body["productOrderItem"]})
    assert resp.status_code == 200, resp.text
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "completed"
    owned = products(world, "cust-drop")
    assert owned["phone"]["status"] == "terminated" and owned["mobile-plan"]["status"] == "active"
    with world.container.store.read() as uow:
        items = {i["key"]: i["status"] for i in uow.inventory.items("cust-drop")}
    phone_items = {k: s for k, s in items.items() if k.startswith(owned["phone"]["id"])}
    assert phone_items and set(phone_items.values()) == {"terminated"}, items


def test_cancelling_a_modify_after_it_was_assetized_restores_the_previous_attributes(world):
    first = world.place(phone_and_plan("cust-mod"))
    world.settle()
    assert world.order(first)["state"] == "completed"
    phone = products(world, "cust-mod")["phone"]
    # a later order changes the phone's colour (nothing to ship: recorded at once) and the plan's tier
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    plan_id = products(world, "cust-mod")["mobile-plan"]["id"]
    body = {"relatedParty": [{"id": "cust-mod", "role": "customer"}], "productOrderItem": [
        {"id": "1", "action": "modify", "productOffering": {"id": "phone"},
         "product": {"id": phone["id"], "productCharacteristic": [{"name": "color", "value": "red"}]}},
        {"id": "2", "action": "modify", "productOffering": {"id": "mobile-plan"},
         "product": {"id": plan_id, "productCharacteristic": [{"name": "tier", "value": "basic"}]}}]}
    second = world.place(body)
    world.settle()
    colour = {c["name"]: c["value"] for c in products(world, "cust-mod")["phone"]["productCharacteristic"]}
    assert colour["color"] == "red", world.items(second)

    resp = world.api("POST", CANCEL, json={"productOrder": {"id": second}})
    assert resp.status_code == 201, resp.text
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(second)["state"] == "cancelled"
    after = products(world, "cust-mod")["phone"]
    assert after["status"] == "active"
    assert {c["name"]: c["value"] for c in after["productCharacteristic"]}["color"] == "blue"
