"""Compensation strategies other than undo: `ignore` keeps completed work as done for the
new revision; `manual` asks a person to undo it (a task), then the new work runs."""

from __future__ import annotations

import copy

import pytest

from ..support.catalogs import write_catalog
from ..support.engine import EngineHarness
from ..support.live import ORDERS, SEED_ORDER


def _with_strategy(strategy: str):
    def change(docs):
        scenario = next(s for s in docs["telecom.yaml"]["scenarios"] if s["product"] == "device-shipment")
        ship = scenario["items"][0]
        ship["compensate"] = strategy
        if strategy == "manual":
            ship["compensation_queue"] = "returns"
            docs["telecom.yaml"]["work_queues"] = [{"id": "returns", "members": ["rita"]}]
    return change


def _recolour(world, order_id, color):
    items = copy.deepcopy(SEED_ORDER["productOrderItem"])
    items[0]["product"]["productCharacteristic"] = [{"name": "model", "value": "Fairphone 5"},
                                                    {"name": "color", "value": color}]
    return world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": items})


@pytest.fixture
def make_world(database_url, tmp_path):
    worlds = []

    def make(strategy):
        world = EngineHarness(database_url, catalog=write_catalog(tmp_path / strategy, _with_strategy(strategy)))
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.close()


def test_ignore_keeps_completed_work_as_done_for_the_new_revision(make_world):
    world = make_world("ignore")
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()
    shipped = world.items(order_id)["ship"]

    assert _recolour(world, order_id, "red").status_code == 200
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "completed"
    assert world.items(order_id)["ship"]["id"] == shipped["id"]  # kept, not redone nor undone
    shipments = [r for r in world.simulator("warehouse")["requests"] if r["body"].get("kind") == "device"]
    assert len(shipments) == 1


def test_manual_asks_a_person_to_undo_the_work_before_the_new_work_runs(make_world):
    world = make_world("manual")
    world.api("PUT", "/api/v1/systems/network", json={"offline": True})
    order_id = world.place(SEED_ORDER)
    world.settle()

    assert _recolour(world, order_id, "red").status_code == 200
    world.settle()
    [task] = world.api("GET", "/api/v1/tasks", params={"queue": "returns"}).json()
    assert task["assignee"] == "rita" and task["name"].startswith("Undo: Ship the device")
    devices = [r for r in world.simulator("warehouse")["requests"] if r["body"].get("kind") == "device"]
    assert len(devices) == 1  # the new shipment waits for the undoing

    world.api("POST", f"/api/v1/tasks/{task['id']}/claim").raise_for_status()  # as the caller
    world.api("POST", f"/api/v1/tasks/{task['id']}/complete", json={"output": {"returned": True}}).raise_for_status()
    world.api("PUT", "/api/v1/systems/network", json={"offline": False})
    world.settle()

    assert world.order(order_id)["state"] == "completed"
    devices = [r["body"]["color"] for r in world.simulator("warehouse")["requests"] if r["body"].get("kind") == "device"]
    assert devices == ["blue", "red"]
