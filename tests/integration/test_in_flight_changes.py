"""In-flight changes on the seed order: amendments before and after the point of no return,
cancellation with compensation, revisions in a row, and an amendment racing a running
callout. The engine runs on a controllable clock with the reference catalog."""

from __future__ import annotations

import asyncio
import copy

import pytest
from alembic import command

from ordertower.adapters.catalog_files import REFERENCE_CATALOG
from ordertower.adapters.store.migrate import alembic_config
from ordertower.services.amend_order import AmendOrder, apply_revisions, queue_revision
from ordertower.domain.orders import ItemInput

from ..support.catalogs import write_catalog
from ..support.engine import EngineHarness
from ..support.live import ORDERS, SEED_ORDER

CANCEL = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"


@pytest.fixture
def world(database_url):
    harness = EngineHarness(database_url, catalog=REFERENCE_CATALOG)
    yield harness
    harness.close()


def _items(tier: str = "unlimited", color: str = "blue", model: str = "Fairphone 5") -> list[dict]:
    items = copy.deepcopy(SEED_ORDER["productOrderItem"])
    items[0]["product"]["productCharacteristic"] = [{"name": "model", "value": model},
                                                    {"name": "color", "value": color}]
    items[1]["product"]["productCharacteristic"] = [{"name": "tier", "value": tier}]
    return items


def _patch(world, order_id, items, **extra):
    return world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": items, **extra},
                     headers={"Content-Type": "application/merge-patch+json"})


def _requests(world, system, path):
    return [r for r in world.simulator(system)["requests"] if r["path"] == path]


def _asset_attrs(world, order_id):
    products = world.api("GET", "/tmf-api/productInventory/v4/product").json()
    return {p["productOffering"]["id"]: {c["name"]: c["value"] for c in p["productCharacteristic"]}
            for p in products if p["productOrderItem"][0]["productOrderId"] == order_id
            and p["status"] == "active"}


def test_amend_before_the_point_of_no_return_recreates_only_what_changed(world):
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    before = world.items(order_id)
    assert before["activate"]["state"] == "onHold"
    assert [i["changesAllowed"] for i in world.order(order_id)["productOrderItem"]] == [True, True]

    resp = _patch(world, order_id, _items(tier="unlimited-plus"))

    assert resp.status_code == 200, resp.text
    assert resp.json()["revision"] == 2
    after = world.items(order_id)
    for step in ("1/device-shipment#ship", "2/sim-card#ship"):
        kept = next(i for k, i in after.items() if k.endswith(step) or i["key"] == step)
        assert kept["id"] == next(i for i in before.values() if i["key"] == step)["id"]
        assert kept["state"] == "completed" and kept["attempts"] == 1 and kept["revision"] == 2
    assert after["activate"]["id"] != before["activate"]["id"]
    revisions = world.api("GET", f"/api/v1/orders/{order_id}/revisions").json()["revisions"]
    assert revisions[0]["status"] == "applied"
    assert set(revisions[0]["delta"]["changed"]) == {"2/mobile-line", "2/billing-subscription"}
    assert revisions[0]["delta"]["changed"]["2/mobile-line"]["tier"] == ["unlimited", "unlimited-plus"]
    assert before["activate"]["id"] in revisions[0]["plan"]["cancelled"]

    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "completed"
    activations = _requests(world, "network", "/lines/activate")
    assert [a["body"]["tier"] for a in activations] == ["unlimited-plus"]
    assert len(_requests(world, "warehouse", "/shipments")) == 2
    assert _requests(world, "warehouse", "/shipments/cancel") == []
    assert _asset_attrs(world, order_id)["mobile-plan"] == {"tier": "unlimited-plus"}
    history = world.api("GET", f"/api/v1/orders/{order_id}/history").json()["events"]
    assert any(e["type"] == "ProductOrderRevisionEvent" and e["status"] == "applied" for e in history)


def test_amend_a_second_bundle_while_the_first_is_past_its_point_of_no_return(world):
    world.api("PUT", "/api/v1/systems/billing", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    assert world.items(order_id)["activate"]["state"] == "completed"  # bundle 2 past its PONR
    assert [i["changesAllowed"] for i in world.order(order_id)["productOrderItem"]] == [True, False]

    resp = _patch(world, order_id, _items(color="red"))

    assert resp.status_code == 200, resp.text
    world.api("PUT", "/api/v1/systems/billing", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "completed"
    shipments = _requests(world, "warehouse", "/shipments")
    devices = [s["body"]["color"] for s in shipments if s["body"]["kind"] == "device"]
    assert devices == ["blue", "red"]  # shipped, undone, shipped again with the new colour
    assert len(_requests(world, "warehouse", "/shipments/cancel")) == 1
    assert len(_requests(world, "network", "/lines/activate")) == 1  # bundle 2 untouched
    assert _asset_attrs(world, order_id)["phone"]["color"] == "red"


def test_amend_after_the_point_of_no_return_is_refused_naming_the_item(world):
    world.api("PUT", "/api/v1/systems/billing", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    activation = world.items(order_id)["activate"]

    resp = _patch(world, order_id, _items(tier="basic"))

    assert resp.status_code == 409
    problem = resp.json()
    assert problem["errors"][0]["field"] == activation["id"]
    assert "Activate the line" in problem["errors"][0]["message"]
    assert world.order(order_id)["revision"] == 1
    world.api("PUT", "/api/v1/systems/billing", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "completed"
    assert _asset_attrs(world, order_id)["mobile-plan"] == {"tier": "unlimited"}
    refused = world.api("GET", f"/api/v1/orders/{order_id}/revisions").json()["revisions"][0]
    assert refused["status"] == "refused"


def test_cancel_compensates_completed_callouts_in_reverse_order(world):
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    ships = {i["key"]: i for i in world.items(order_id).values() if i["key"].endswith("#ship")}
    assert {i["state"] for i in ships.values()} == {"completed"}

    resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}, "cancellationReason": "moved abroad"})
    assert resp.status_code == 201 and resp.json()["state"] == "inProgress"
    world.settle()

    assert world.order(order_id)["state"] == "cancelled"
    task = world.api("GET", f"{CANCEL}/{resp.json()['id']}").json()
    assert task["state"] == "done" and task["cancellationReason"] == "moved abroad"
    undone = _requests(world, "warehouse", "/shipments/cancel")
    assert len(undone) == 2
    by_line = {i["line_id"]: i for i in ships.values()}
    finished = [by_line[u["body"]["line"]]["finished_at"] for u in undone]
    assert finished == sorted(finished, reverse=True)  # the last shipped is undone first
    items = world.items(order_id)
    assert {items[k]["state"] for k in items if k.endswith("#ship")} == {"compensated"}
    assert items["activate"]["state"] == "cancelled"
    changes = [(e["from"], e["to"]) for e in world.history(order_id) if e["type"] == "ProductOrderStateChangeEvent"]
    assert changes[-3:] == [("inProgress", "assessingCancellation"),
                            ("assessingCancellation", "pendingCancellation"),
                            ("pendingCancellation", "cancelled")]


def _device_shipments(world, order_id):
    """What the warehouse was asked to ship and to take back for the phone (line 1)."""
    shipped = [r for r in _requests(world, "warehouse", "/shipments") if r["body"]["kind"] == "device"]
    undone = [r for r in _requests(world, "warehouse", "/shipments/cancel")
              if r["body"]["line"] == "1/device-shipment"]
    return shipped, undone


@pytest.mark.parametrize("colours", [["red"], ["red", "white"]], ids=["one-amendment", "two-amendments"])
def test_cancel_after_amendments_reshipped_the_phone_undoes_each_shipment_once(world, colours):
    """Each accepted recolouring undoes the phone shipped before and ships it again; the
    cancellation then undoes the shipment in effect, not again one an amendment undid."""
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})  # before the PONR
    order_id = world.place(SEED_ORDER)
    world.settle()
    for colour in colours:
        assert _patch(world, order_id, _items(color=colour)).status_code == 200
        world.settle()
    shipped, undone = _device_shipments(world, order_id)
    assert [s["body"]["color"] for s in shipped] == ["blue", *colours] and len(undone) == len(colours)

    resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}})

    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] != "terminatedWithError"
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "cancelled"
    shipped, undone = _device_shipments(world, order_id)
    assert len(shipped) == len(undone) == len(colours) + 1  # every shipment undone, once
    assert len({u["idempotency_key"] for u in undone}) == len(undone)  # no undo sent twice
    # the last revision shows its shipment undone by the cancellation, beside the undoing of
    # the shipment before it by the amendment that made the revision: each named for its work
    last = len(colours) + 1
    plan = {i["key"]: i["state"] for i in world.api("GET", f"/api/v1/orders/{order_id}/plan").json()["items"]
            if i["key"].startswith("1/device-shipment#ship")}
    assert plan == {"1/device-shipment#ship": "compensated",
                    f"1/device-shipment#ship~undo@{last - 1}": "completed",
                    f"1/device-shipment#ship~undo@{last}": "completed"}
    assert _asset_attrs(world, order_id) == {}  # the installed base is as before the order


def _to_revision(world, target: str, *, down: bool) -> None:
    engine = world.container.store.engine
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)


def _shipment_undo_keys(world, order_id) -> list[str]:
    return sorted(i["key"] for i in world.api("GET", f"/api/v1/orders/{order_id}/plan").json()["items"]
                  if i["key"].startswith("1/device-shipment#ship~undo@"))


def test_an_order_amended_before_the_undo_keys_changed_is_cancelled_after_the_upgrade(world):
    """Migration 0017: an undo an amendment planned under the old rule (keyed by the revision
    that planned it) is renamed after the work it undoes, so the cancellation planned after
    the upgrade, in the same revision, gets a key of its own."""
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    assert _patch(world, order_id, _items(color="red")).status_code == 200
    world.settle()
    _to_revision(world, "0016", down=True)  # the data as the version before left it
    assert _shipment_undo_keys(world, order_id) == ["1/device-shipment#ship~undo@2"]

    _to_revision(world, "head", down=False)

    assert _shipment_undo_keys(world, order_id) == ["1/device-shipment#ship~undo@1"]
    resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}})
    assert resp.status_code == 201 and resp.json()["state"] != "terminatedWithError", resp.text
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "cancelled"
    assert _shipment_undo_keys(world, order_id) == ["1/device-shipment#ship~undo@1",
                                                    "1/device-shipment#ship~undo@2"]
    shipped, undone = _device_shipments(world, order_id)
    assert len(shipped) == len(undone) == 2


def test_cancel_before_the_amended_shipment_ran_undoes_only_the_first_shipment(world):
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    assert _patch(world, order_id, _items(color="red")).status_code == 200  # nothing stepped

    resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}})

    assert resp.status_code == 201 and resp.json()["state"] != "terminatedWithError", resp.text
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "cancelled"
    shipped, undone = _device_shipments(world, order_id)
    assert [s["body"]["color"] for s in shipped] == ["blue"] and len(undone) == 1
    assert _asset_attrs(world, order_id) == {}


def test_cancel_discards_an_item_in_fallout(database_url, tmp_path):
    def no_warehouse_retries(docs):
        next(s for s in docs["systems.yaml"]["systems"] if s["id"] == "warehouse")["retry"] = {"strategy": "none"}

    world = EngineHarness(database_url, catalog=write_catalog(tmp_path / "c", no_warehouse_retries))
    try:
        world.set_simulator("warehouse", fail_next=1)  # one of the two shipments fails for good
        world.api("PUT", "/api/v1/systems/network", json={"offline": True})  # activation waits
        order_id = world.place(SEED_ORDER)
        world.settle()
        ships = [i for i in world.items(order_id).values() if i["key"].endswith("#ship")]
        assert sorted(i["state"] for i in ships) == ["completed", "fallout"]
        assert world.order(order_id)["state"] == "held"

        resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}})
        world.settle()

        assert world.order(order_id)["state"] == "cancelled"
        assert world.api("GET", f"{CANCEL}/{resp.json()['id']}").json()["state"] == "done"
        after = {i["id"]: i["state"] for i in world.items(order_id).values()}
        assert sorted(after[i["id"]] for i in ships) == ["cancelled", "compensated"]
        assert world.api("GET", "/api/v1/fallout").json()["count"] == 0
        assert len(_requests(world, "warehouse", "/shipments/cancel")) == 1
    finally:
        world.close()


def test_cancel_past_the_point_of_no_return_is_refused_and_the_order_carries_on(world):
    world.api("PUT", "/api/v1/systems/billing", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()

    resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}, "cancellationReason": "changed mind"})

    assert resp.status_code == 201
    assert resp.json()["state"] == "terminatedWithError"
    assert "point of no return" in resp.json()["errorMessage"]
    assert world.order(order_id)["state"] == "inProgress"
    world.api("PUT", "/api/v1/systems/billing", json={"offline": False})
    world.settle()
    assert world.order(order_id)["state"] == "completed"
    listed = world.api("GET", CANCEL, params={"productOrder.id": order_id}).json()
    assert [c["state"] for c in listed] == ["terminatedWithError"]


def test_only_the_newest_of_queued_revisions_is_applied_and_a_stale_one_is_refused(world):
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    store, catalog = world.container.store, world.container.catalog

    def cmd(tier, number):
        raw = _items(tier=tier)
        inputs = [ItemInput(i["id"], i["action"], i["productOffering"]["id"],
                            tuple((c["name"], c["value"]) for c in i["product"]["productCharacteristic"]))
                  for i in raw]
        return AmendOrder(order_id=order_id, items=inputs, body={"productOrderItem": raw}, revision=number)

    queue_revision(store, catalog, cmd("basic", 2))
    queue_revision(store, catalog, cmd("unlimited-plus", 3))  # arrives while 2 waits
    apply_revisions(store, catalog, order_id)

    revisions = world.api("GET", f"/api/v1/orders/{order_id}/revisions").json()["revisions"]
    assert [(r["number"], r["status"]) for r in revisions] == [(2, "superseded"), (3, "applied")]
    assert world.order(order_id)["revision"] == 3
    stale = _patch(world, order_id, _items(tier="basic"), revision=3)
    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "revision"
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()
    assert [a["body"]["tier"] for a in _requests(world, "network", "/lines/activate")] == ["unlimited-plus"]


def test_amend_while_a_callout_runs_keeps_its_outcome_and_reconciles_it(world):
    world.set_simulator("warehouse", latency_ms=300)
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)

    async def amend_mid_flight():
        await world.worker.run_once()  # both shipments are claimed and sent
        async def unanswered() -> int:
            received = (await world.sim_client.get("/warehouse")).json()["requests"]
            return sum(1 for r in received if r["path"] == "/shipments" and r["status"] is None)

        while await unanswered() < 2:  # until the warehouse holds both shipments, unanswered
            await asyncio.sleep(0.005)
        plan = (await world.api_client.get(f"/api/v1/orders/{order_id}/plan")).json()["items"]
        device = next(i for i in plan if i["key"] == "1/device-shipment#ship")
        assert device["state"] == "running"  # the PATCH lands while its callout runs
        resp = await world.api_client.patch(f"{ORDERS}/{order_id}", json={"productOrderItem": _items(color="red")})
        await world.worker.drain()
        return resp

    resp = world.run(amend_mid_flight())
    assert resp.status_code == 200, resp.text
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "completed"
    plan = world.api("GET", f"/api/v1/orders/{order_id}/plan").json()["items"]
    old = world.api("GET", f"/api/v1/plan-items/{plan[0]['id']}/attempts")  # the API answers for any item
    assert old.status_code == 200
    devices = [s["body"]["color"] for s in _requests(world, "warehouse", "/shipments") if s["body"]["kind"] == "device"]
    assert devices == ["blue", "red"]  # the running shipment finished, was undone, then redone
    assert len(_requests(world, "warehouse", "/shipments/cancel")) == 1
    history = world.history(order_id)
    first_ship = next(e["item"] for e in history if e.get("key") == "1/device-shipment#ship" and e.get("to") == "running")
    states = [e["to"] for e in history if e.get("item") == first_ship and e["type"] == "PlanItemStateChangeEvent"]
    assert states == ["running", "completed", "compensating", "compensated"]
    assert _asset_attrs(world, order_id)["phone"]["color"] == "red"
