"""Fulfillment systems: offline puts their callouts on hold without spending attempts or
reaching the point of no return; online resumes them in order. Concurrency is bounded."""

from __future__ import annotations

from ..support.engine import order_body


def test_an_offline_system_holds_its_callouts_and_they_resume_in_order_when_online(engine):
    off = engine.api("PUT", "/api/v1/systems/network", json={"offline": True, "reason": "maintenance"})
    assert off.status_code == 200 and off.json()["offline"] is True
    orders = [engine.place(order_body(("1", "gadget", {"via": "network"}))) for _ in range(3)]
    engine.settle()

    held = [engine.item(o, "call") for o in orders]
    assert {i["state"] for i in held} == {"onHold"} and {i["attempts"] for i in held} == {0}
    assert engine.simulator("network")["requests"] == []
    systems = {s["id"]: s for s in engine.api("GET", "/api/v1/systems").json()}
    assert systems["network"]["offline"] and systems["network"]["items"]["onHold"] == 3
    assert systems["network"]["reason"] == "maintenance"

    on = engine.api("PUT", "/api/v1/systems/network", json={"offline": False})
    assert on.status_code == 200
    engine.settle()

    assert [engine.order(o)["state"] for o in orders] == ["completed"] * 3
    assert {engine.item(o, "call")["attempts"] for o in orders} == {1}
    received = [r["body"] for r in engine.simulator("network")["requests"]]
    assert len(received) == 3


def test_items_released_while_their_system_is_offline_are_held_too(engine):
    engine.api("PUT", "/api/v1/systems/field-service", json={"offline": True})
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100})))
    engine.settle()

    activate = engine.item(order_id, "activate")  # a point of no return, never started
    assert engine.item(order_id, "reserve-port")["state"] == "completed"
    assert activate["state"] == "onHold" and activate["attempts"] == 0 and activate["ponr"]
    cancelled = engine.api("POST", f"/api/v1/orders/{order_id}/cancel", json={"reason": "customer left"})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert engine.item(order_id, "activate")["state"] == "cancelled"


def test_an_unknown_system_or_a_bad_body_is_refused(engine):
    assert engine.api("PUT", "/api/v1/systems/nope", json={"offline": True}).status_code == 404
    bad = engine.api("PUT", "/api/v1/systems/network", json={"offline": "yes", "colour": 1})
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"offline", "colour"}


def test_a_systems_concurrency_limit_bounds_what_runs_at_once(engine):
    engine.set_simulator("network", latency_ms=50)
    orders = [engine.place(order_body(("1", "gadget", {"via": "network"}))) for _ in range(5)]

    started = engine.step()  # network allows 2 at once

    assert started == 2
    engine.settle()
    assert {engine.order(o)["state"] for o in orders} == {"completed"}
