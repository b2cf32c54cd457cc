"""Jeopardy: an item running past its expected duration, an order projected past its
requested completion date; GREEN -> YELLOW -> RED -> GREEN, each change an event."""

from __future__ import annotations

from datetime import datetime, timedelta

from ordertower.engine import jeopardy

from ..support.engine import order_body


def test_an_item_turns_yellow_then_red_then_green_when_done(engine):
    due = (engine.clock.now() + timedelta(hours=3)).isoformat()
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"}),
                                       requestedCompletionDate=due))
    engine.settle()
    install = engine.item(order_id, "install")
    assert install["state"] == "waiting" and install["jeopardy"] == "GREEN"

    engine.advance(minutes=50)  # 50 of 60 expected minutes
    engine.step()
    assert engine.item(order_id, "install")["jeopardy"] == "YELLOW"
    report = engine.api("GET", "/api/v1/jeopardy").json()
    assert report["orders"][0]["order"] == order_id
    assert report["orders"][0]["items"][0]["key"].endswith("#install")

    engine.advance(minutes=20)  # overran
    engine.step()
    assert engine.item(order_id, "install")["jeopardy"] == "RED"
    assert engine.order(order_id)["jeopardy"] == "RED"

    task = engine.api("GET", "/api/v1/tasks").json()[0]
    engine.api("POST", f"/api/v1/tasks/{task['id']}/claim").raise_for_status()  # as the caller
    engine.api("POST", f"/api/v1/tasks/{task['id']}/complete", json={}).raise_for_status()
    engine.step()
    assert engine.item(order_id, "install")["jeopardy"] == "GREEN"
    changes = [(e["from"], e["to"]) for e in engine.history(order_id)
               if e["type"] == "JeopardyChangeEvent" and "key" in e]
    assert changes == [("GREEN", "YELLOW"), ("YELLOW", "RED"), ("RED", "GREEN")]


def test_an_order_is_judged_by_its_projected_completion_against_its_requested_date(engine):
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=600_000)
    engine.await_callbacks = False
    now = engine.clock.now()

    def place(minutes: int) -> str:
        return engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"}),
                                       requestedCompletionDate=(now + timedelta(minutes=minutes)).isoformat()))

    # what remains once the port is reserved: install 60m, then activation 30m = 90m
    relaxed, tight, late = place(240), place(100), place(80)
    engine.settle()

    assert engine.order(relaxed)["jeopardy"] == "GREEN"
    assert engine.order(tight)["jeopardy"] == "YELLOW"  # 10m of slack on a 90m path
    assert engine.order(late)["jeopardy"] == "RED"  # projected 10m past the date
    assert {i["jeopardy"] for i in engine.items(late).values()} == {"GREEN"}  # no item is late yet
    assert engine.order(late)["projectedCompletionDate"].startswith(
        (now + timedelta(minutes=90)).isoformat()[:16])

    engine.advance(minutes=75)  # the install overran; what is left moves with the clock
    engine.step()
    assert engine.order(tight)["jeopardy"] == "RED"
    events = [e for e in engine.history(tight) if e["type"] == "JeopardyChangeEvent" and "order" in e]
    assert [(e["from"], e["to"]) for e in events] == [("GREEN", "YELLOW"), ("YELLOW", "RED")]


def test_a_projection_is_rewritten_only_once_it_has_moved_a_minute(engine):
    """The sweep judges every open order on a read snapshot and writes only what changed: a
    projection that moves with the clock (an overrunning item) is written again once it has
    moved by PROJECTION_STEP_S, not on every sweep."""
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=600_000)
    engine.await_callbacks = False
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"})))
    engine.settle()
    placed = engine.order(order_id)["projectedCompletionDate"]
    assert placed is not None  # projected at placement

    engine.advance(minutes=75)  # the install overran: the projection is now + activation 30m
    engine.step()
    overran = engine.order(order_id)["projectedCompletionDate"]
    assert overran > placed

    engine.advance(seconds=30)
    assert jeopardy.sweep_jeopardy(engine.container.store) == 0
    assert engine.order(order_id)["projectedCompletionDate"] == overran  # moved 30 s: left

    engine.advance(seconds=45)
    jeopardy.sweep_jeopardy(engine.container.store)
    moved = engine.order(order_id)["projectedCompletionDate"]
    assert moved > overran  # moved 75 s: written
    assert (datetime.fromisoformat(moved.replace("Z", "+00:00"))
            - datetime.fromisoformat(overran.replace("Z", "+00:00"))) >= timedelta(seconds=60)
