"""Callbacks that come twice, with a wrong token, or after their order was cancelled, on the
reference world where the warehouse ships the phone asynchronously (it answers 202 and calls
back when the parcel has left). The test plays the warehouse's callback.

The answer to a callback after a cancellation (docs/orchestration.md, docs/decisions.md): it
is accepted (200) and recorded. While the cancellation is under way the shipment it reports is
completed and then undone by its compensation; once the order is cancelled nothing changes
state, and the reply stays in the order's history for an operator."""

from __future__ import annotations

import copy

import pytest

from ..support.catalogs import write_catalog
from ..support.engine import EngineHarness
from ..support.live import SEED_ORDER

PHONE_ORDER = copy.deepcopy(SEED_ORDER) | {"productOrderItem": [copy.deepcopy(SEED_ORDER["productOrderItem"][0])]}
SHIP = "ship"  # the step of 1/device-shipment#ship


def _async_shipping(docs) -> None:
    scenario = next(s for s in docs["telecom.yaml"]["scenarios"] if s["product"] == "device-shipment")
    ship = next(i for i in scenario["items"] if i["id"] == "ship")
    ship.update({"reply": "async", "timeout": "1h"})


@pytest.fixture
def world(database_url, tmp_path):
    harness = EngineHarness(database_url, catalog=write_catalog(tmp_path / "catalog", _async_shipping))
    harness.set_simulator("warehouse", async_reply=True, async_delay_ms=600_000)
    harness.await_callbacks = False  # the test is the warehouse calling back
    yield harness
    harness.close()


def _waiting_shipment(world) -> tuple[str, str]:
    """A phone order whose shipment waits for the warehouse's callback: (order id, callback path)."""
    order_id = world.place(PHONE_ORDER)
    world.settle()
    assert world.item(order_id, SHIP)["state"] == "waiting"
    request = next(r for r in world.simulator("warehouse")["requests"] if r["path"] == "/shipments")
    return order_id, "/api/v1" + request["body"]["callback_url"].split("/api/v1", 1)[1]


def _cancel(world, order_id: str) -> None:
    resp = world.api("POST", f"/api/v1/orders/{order_id}/cancel", json={"reason": "customer changed mind"})
    assert resp.status_code == 200, resp.text
    assert world.order(order_id)["state"] == "pendingCancellation"  # the shipment is under way


def test_a_repeated_callback_is_409_and_a_wrong_token_404_and_neither_changes_anything(world):
    order_id, path = _waiting_shipment(world)
    shipped = world.api("POST", path, json={"status": "completed", "result": {"parcel": "P-1"}})
    assert shipped.status_code == 200 and shipped.json()["applied"] is True
    world.settle()
    assert world.order(order_id)["state"] == "completed"
    history = world.history(order_id)

    again = world.api("POST", path, json={"status": "completed", "result": {"parcel": "P-2"}})
    wrong = world.api("POST", path[:-4] + "xxxx", json={"status": "completed"})

    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "already used" in again.json()["detail"]
    assert wrong.status_code == 404 and wrong.headers["content-type"] == "application/problem+json"
    assert world.history(order_id) == history
    assert world.item(order_id, SHIP)["output"] == {"parcel": "P-1"}


def test_a_callback_during_the_cancellation_completes_the_shipment_and_its_compensation_undoes_it(world):
    order_id, path = _waiting_shipment(world)
    _cancel(world, order_id)

    shipped = world.api("POST", path, json={"status": "completed", "result": {"parcel": "P-1"}})
    world.settle()

    assert shipped.status_code == 200 and shipped.json()["applied"] is True
    assert world.item(order_id, SHIP)["state"] == "compensated"
    undo = [r for r in world.simulator("warehouse")["requests"] if r["path"] == "/shipments/cancel"]
    assert len(undo) == 1 and undo[0]["body"]["order"] == order_id
    assert world.order(order_id)["state"] == "cancelled"
    assert world.api("POST", path, json={"status": "completed"}).status_code == 409


def test_a_callback_after_the_order_was_cancelled_is_accepted_recorded_and_changes_nothing(world):
    order_id, path = _waiting_shipment(world)
    _cancel(world, order_id)
    world.advance(minutes=61)  # the warehouse stays silent past the shipment's time-out
    world.settle()
    assert world.order(order_id)["state"] == "cancelled"
    ship = world.item(order_id, SHIP)
    before = [e for e in world.history(order_id) if e["type"] != "PlanItemCallbackAfterCancellationEvent"]

    late = world.api("POST", path, json={"status": "completed", "result": {"parcel": "P-9"}})

    assert late.status_code == 200, late.text
    assert late.json() == {"item": ship["id"], "state": ship["state"], "status": "completed",
                           "applied": False}
    world.settle()
    assert world.order(order_id)["state"] == "cancelled"
    assert world.item(order_id, SHIP)["state"] == ship["state"]
    history = world.history(order_id)
    recorded = [e for e in history if e["type"] == "PlanItemCallbackAfterCancellationEvent"]
    assert len(recorded) == 1
    assert recorded[0]["result"] == {"parcel": "P-9"} and recorded[0]["actor"] == "warehouse"
    assert [e for e in history if e["type"] != "PlanItemCallbackAfterCancellationEvent"] == before
    assert world.api("POST", path, json={"status": "completed"}).status_code == 409  # used up
