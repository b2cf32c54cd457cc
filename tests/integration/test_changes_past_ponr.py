"""Changes past the point of no return (issue 10, defect 5), on SQLite and PostgreSQL:
an operator may force an amendment past PONR (``PATCH ...?force=true&reason=...``) when the
work past it declares a compensation; ``changesAllowed: false`` makes an order item
non-amendable; a soft point of no return warns and lets the amendment through."""

from __future__ import annotations

import copy

import pytest

from ordertower.domain.ids import new_id
from ordertower.services.access import key_hash

from ..support.catalogs import write_catalog
from ..support.engine import EngineHarness
from ..support.live import ORDERS, SEED_ORDER

CANCEL = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"


def _line_can_be_deactivated(docs):
    """The line's activation (the point of no return) declares its undo."""
    for scenario in docs["telecom.yaml"]["scenarios"]:
        if scenario["product"] == "mobile-line" and scenario["action"] == "add":
            scenario["items"][0]["compensation"] = {"method": "POST", "path": "/lines/deactivate",
                                                     "body": {"order": "${order.id}", "line": "${line.id}"}}


def _shipping_is_a_soft_ponr(docs):
    for scenario in docs["telecom.yaml"]["scenarios"]:
        if scenario["product"] == "device-shipment":
            scenario["items"][0]["soft_ponr"] = True


@pytest.fixture
def make_world(database_url, tmp_path):
    worlds = []

    def make(change=None, **settings):
        catalog = write_catalog(tmp_path / f"c{len(worlds)}", change or (lambda docs: None))
        world = EngineHarness(database_url, catalog=catalog, **settings)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


def _items(tier: str = "unlimited", color: str = "blue", **extra) -> list[dict]:
    items = copy.deepcopy(SEED_ORDER["productOrderItem"])
    items[0]["product"]["productCharacteristic"] = [{"name": "model", "value": "Fairphone 5"},
                                                    {"name": "color", "value": color}]
    items[1]["product"]["productCharacteristic"] = [{"name": "tier", "value": tier}]
    for item_id, fields in extra.items():
        next(i for i in items if i["id"] == item_id[1:]).update(fields)
    return items


def _past_activation(world, **extra) -> str:
    """The seed order with the line activated (its PONR) and billing still to come."""
    world.api("PUT", "/api/v1/systems/billing", json={"offline": True})
    body = copy.deepcopy(SEED_ORDER) | {"productOrderItem": _items(**extra)}
    order_id = world.place(body)
    world.settle()
    assert world.item(order_id, "activate")["state"] == "completed"
    return order_id


def test_a_forced_amendment_past_ponr_compensates_the_activation_and_replans_it(make_world):
    world = make_world(_line_can_be_deactivated)
    order_id = _past_activation(world)
    activated = world.item(order_id, "activate")

    refused = world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": _items("basic")})
    assert refused.status_code == 409, refused.text
    resp = world.api("PATCH", f"{ORDERS}/{order_id}", params={"force": "true", "reason": "customer complaint #77"},
                     json={"productOrderItem": _items("basic")})
    assert resp.status_code == 200, resp.text
    world.api("PUT", "/api/v1/systems/billing", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "completed"
    with world.container.store.read() as uow:
        assert uow.plan.get(activated["id"])["state"] == "compensated"
    network = [(r["path"], r["body"].get("tier")) for r in world.simulator("network")["requests"]]
    assert network == [("/lines/activate", "unlimited"), ("/lines/deactivate", None),
                       ("/lines/activate", "basic")]
    forced = [e for e in world.history(order_id) if e["type"] == "ProductOrderForcedChangeEvent"]
    assert len(forced) == 1
    assert forced[0]["reason"] == "customer complaint #77" and forced[0]["actor"]
    assert forced[0]["items"] == [activated["id"]] and forced[0]["revision"] == 2


def test_a_forced_amendment_is_refused_when_work_past_ponr_declares_no_compensation(make_world):
    world = make_world()  # the reference catalog: activating a line has no undo
    order_id = _past_activation(world)
    activated = world.item(order_id, "activate")

    resp = world.api("PATCH", f"{ORDERS}/{order_id}", params={"force": "true", "reason": "please"},
                     json={"productOrderItem": _items("basic")})

    assert resp.status_code == 409, resp.text
    assert activated["id"] in {e["field"] for e in resp.json()["errors"]}
    assert "compensation" in resp.json()["message"]
    assert world.order(order_id)["productOrderItem"][1]["product"]["productCharacteristic"] == [
        {"name": "tier", "value": "unlimited"}]  # nothing changed


def test_force_needs_a_reason(make_world):
    world = make_world(_line_can_be_deactivated)
    order_id = _past_activation(world)

    resp = world.api("PATCH", f"{ORDERS}/{order_id}", params={"force": "true"},
                     json={"productOrderItem": _items("basic")})

    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["reason"]


def test_force_needs_the_operator_role(make_world):
    world = make_world(_line_can_be_deactivated, auth=True)
    with world.container.store.uow() as uow:
        uow.keys.add(new_id(), "agent-ann", key_hash("agent-key"), "agent", uow.clock.now())
        uow.keys.add(new_id(), "operator-olga", key_hash("operator-key"), "operator", uow.clock.now())
        uow.commit()
    agent = {"Authorization": "Bearer agent-key"}
    world.api("PUT", "/api/v1/systems/billing", json={"offline": True},
              headers={"Authorization": "Bearer operator-key"})
    created = world.api("POST", ORDERS, json=copy.deepcopy(SEED_ORDER), headers=agent)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    world.settle()

    resp = world.api("PATCH", f"{ORDERS}/{order_id}", params={"force": "true", "reason": "r"},
                     json={"productOrderItem": _items("basic")}, headers=agent)
    assert resp.status_code == 403, resp.text
    assert "'operator'" in resp.text

    resp = world.api("PATCH", f"{ORDERS}/{order_id}", params={"force": "true", "reason": "r"},
                     json={"productOrderItem": _items("basic")},
                     headers={"Authorization": "Bearer operator-key"})
    assert resp.status_code == 200, resp.text
    history = world.api("GET", f"/api/v1/orders/{order_id}/history", headers=agent).json()["events"]
    forced = [e for e in history if e["type"] == "ProductOrderForcedChangeEvent"]
    assert [(e["actor"], e["reason"]) for e in forced] == [("operator-olga", "r")]


def test_an_item_created_with_changes_not_allowed_refuses_amendments_and_cancellation(make_world):
    world = make_world()
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})  # nothing past PONR
    body = copy.deepcopy(SEED_ORDER) | {"productOrderItem": _items(**{"#1": {"changesAllowed": False}})}
    order_id = world.place(body)
    world.settle()

    recolour = world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": _items(color="red")})
    assert recolour.status_code == 409, recolour.text
    assert "productOrderItem[0].changesAllowed" in {e["field"] for e in recolour.json()["errors"]}
    forced = world.api("PATCH", f"{ORDERS}/{order_id}", params={"force": "true", "reason": "r"},
                       json={"productOrderItem": _items(color="red")})
    assert forced.status_code == 409, forced.text  # force passes the PONR, not changesAllowed
    cancel = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}})
    assert cancel.status_code == 201 and cancel.json()["state"] == "terminatedWithError", cancel.text
    assert "changesAllowed" in cancel.json()["errorMessage"]

    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()
    order = world.order(order_id)
    assert order["state"] == "completed"
    assert {c["name"]: c["value"] for c in order["productOrderItem"][0]["product"]["productCharacteristic"]} == {
        "model": "Fairphone 5", "color": "blue"}
    assert order["productOrderItem"][0]["changesAllowed"] is False


def test_changes_allowed_must_be_a_boolean(make_world):
    world = make_world()
    body = copy.deepcopy(SEED_ORDER) | {"productOrderItem": _items(**{"#1": {"changesAllowed": "no"}})}

    resp = world.api("POST", ORDERS, json=body)

    assert resp.status_code == 400, resp.text
    assert "productOrderItem[0].changesAllowed" in {e["field"] for e in resp.json()["errors"]}


def test_a_soft_ponr_lets_the_amendment_through_with_a_warning(make_world):
    world = make_world(_shipping_is_a_soft_ponr)
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(copy.deepcopy(SEED_ORDER))
    world.settle()
    shipped = world.items(order_id)["ship"]
    assert shipped["state"] == "completed"

    resp = world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": _items(color="red")})

    assert resp.status_code == 200, resp.text
    [warning] = resp.json()["warnings"]
    assert warning["field"] == shipped["id"] and "soft point of no return" in warning["message"]
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "completed"
    devices = [r["body"]["color"] for r in world.simulator("warehouse")["requests"] if r["body"].get("kind") == "device"]
    assert devices == ["blue", "red"]
