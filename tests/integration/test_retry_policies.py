"""Each retry policy on a controllable clock: an attempt runs only when its time has come,
every attempt is recorded, and a spent policy ends in fallout."""

from __future__ import annotations

from ..support.engine import order_body


def _call(engine, order_id):
    return engine.item(order_id, "call")


def _attempts(engine, item_id):
    return engine.api("GET", f"/api/v1/plan-items/{item_id}/attempts").json()["attempts"]


def _due_after(engine, order_id, seconds: float) -> None:
    """The item does not run a moment early, and does run when due."""
    attempts = _call(engine, order_id)["attempts"]
    engine.advance(seconds=seconds - 0.5)
    engine.settle()
    assert _call(engine, order_id)["attempts"] == attempts, f"ran before {seconds}s"
    engine.advance(seconds=0.5)
    engine.settle()
    assert _call(engine, order_id)["attempts"] == attempts + 1, f"did not run at {seconds}s"


def test_fixed_policy_retries_every_interval_and_succeeds(engine):
    engine.set_simulator("network", fail_next=2)
    order_id = engine.place(order_body(("1", "gadget", {"via": "network"})))
    engine.settle()
    assert _call(engine, order_id)["state"] == "retrying"

    _due_after(engine, order_id, 10)
    _due_after(engine, order_id, 10)

    item = _call(engine, order_id)
    assert item["state"] == "completed" and item["attempts"] == 3
    attempts = _attempts(engine, item["id"])
    assert [a["outcome"] for a in attempts] == ["retryable", "retryable", "ok"]
    assert [a["status_code"] for a in attempts] == [503, 503, 201]
    assert all(a["request"]["url"] == "http://sim/network/calls" for a in attempts)
    assert all(a["response_excerpt"] for a in attempts)


def test_staggered_policy_waits_each_listed_interval_then_falls_out(engine):
    engine.set_simulator("billing", failure_rate=1.0)
    order_id = engine.place(order_body(("1", "gadget", {"via": "billing"})))
    engine.settle()

    _due_after(engine, order_id, 10)
    _due_after(engine, order_id, 3600)
    _due_after(engine, order_id, 86400)

    item = _call(engine, order_id)
    assert item["state"] == "fallout" and item["attempts"] == 4
    assert "billing answered 503" in item["last_error"]
    assert engine.order(order_id)["state"] == "held"


def test_exponential_policy_doubles_up_to_its_cap(engine):
    engine.set_simulator("market", failure_rate=1.0)
    order_id = engine.place(order_body(("1", "gadget", {"via": "market"})))
    engine.settle()

    for delay in (1, 2, 4, 4):
        _due_after(engine, order_id, delay)

    item = _call(engine, order_id)
    assert item["state"] == "fallout" and item["attempts"] == 5
    assert len(_attempts(engine, item["id"])) == 5


def test_no_retry_policy_falls_out_at_the_first_failure(engine):
    engine.set_simulator("network", fail_next=1)
    order_id = engine.place(order_body(("1", "gadget", {"via": "once"})))
    engine.settle()

    item = _call(engine, order_id)
    assert item["state"] == "fallout" and item["attempts"] == 1
    events = [(e["from"], e["to"]) for e in engine.history(order_id)
              if e["type"] == "PlanItemStateChangeEvent" and e["key"].endswith("#call")]
    assert events == [("ready", "running"), ("running", "fallout")]
