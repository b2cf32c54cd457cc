"""Service levels, through the API on a hand-moved clock (SQLite and PostgreSQL): an order
without a requested date is given an expectedCompletionDate from the catalog's lead times and
its plan; past it, the order is RED in the jeopardy queue and a JeopardyChangeEvent says so;
a scenario item's duration is learned (80th percentile) once it has enough completions,
shown beside the configured one, and new orders are planned with it where none is configured.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..support.engine import EngineHarness, order_body

CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "service-levels"
LEARN_AFTER = 4


@pytest.fixture
def levels(database_url):
    harness = EngineHarness(database_url, catalog=CATALOG, learn_seconds=0.0,
                            learn_after_completions=LEARN_AFTER)
    yield harness
    harness.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fiber(**extra) -> dict:
    return order_body(("1", "fiber", {"speed": 100}), **extra)


def gadget(**extra) -> dict:
    return order_body(("1", "gadget", {}), **extra)


def queue(engine: EngineHarness, **params) -> dict:
    resp = engine.api("GET", "/api/v1/jeopardy", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_an_order_without_a_requested_date_is_expected_by_its_lead_time_or_its_plan(levels):
    placed = levels.clock.now()
    # fiber: a 2 h lead time; its plan (reserve 10 m, then an activation of no expectation) is shorter
    by_lead_time = levels.order(levels.place(fiber()))
    assert at(by_lead_time["expectedCompletionDate"]) == placed + timedelta(hours=2)
    assert "requestedCompletionDate" not in by_lead_time

    # gadget: no lead time; its plan's critical path is the 1 h configuration
    by_plan = levels.order(levels.place(gadget()))
    assert at(by_plan["expectedCompletionDate"]) == placed + timedelta(hours=1)

    # a requested start moves the expectation with it
    start = placed + timedelta(days=1)
    later = levels.order(levels.place(fiber(requestedStartDate=start.isoformat())))
    assert at(later["expectedCompletionDate"]) == start + timedelta(hours=2)


def test_an_order_past_its_expected_date_is_red_in_the_jeopardy_queue_with_an_event(levels):
    levels.set_simulator("field-service", async_reply=True, async_delay_ms=600_000)
    levels.await_callbacks = False
    placed = levels.clock.now()
    late = levels.place(fiber())
    # asked for tomorrow: its due date is the requested one, not the lead time
    requested = placed + timedelta(days=1)
    on_time = levels.place(fiber(requestedCompletionDate=requested.isoformat()))
    levels.settle()
    assert levels.item(late, "activate")["state"] == "waiting"
    assert queue(levels)["orders"] == []

    levels.advance(hours=1)  # an hour before the expected date, nothing left is late
    levels.step()
    assert levels.order(late)["jeopardy"] == "GREEN"
    assert queue(levels)["total"] == 0

    levels.advance(hours=1, minutes=1)  # past the expected date, the activation still waiting
    levels.step()
    assert levels.order(late)["jeopardy"] == "RED"
    assert levels.order(on_time)["jeopardy"] == "GREEN"
    report = queue(levels)
    assert (report["total"], [o["order"] for o in report["orders"]]) == (1, [late])
    entry = report["orders"][0]
    assert at(entry["due"]) == at(entry["expected_completion"]) == placed + timedelta(hours=2)
    assert entry["requested_completion"] is None
    assert at(entry["projected_completion"]) > at(entry["due"])
    assert queue(levels, level="RED")["total"] == 1
    assert queue(levels, level="YELLOW")["orders"] == []

    events = [e for e in levels.history(late) if e["type"] == "JeopardyChangeEvent" and "key" not in e]
    assert [(e["from"], e["to"]) for e in events] == [("GREEN", "RED")]
    assert at(events[0]["due"]) == placed + timedelta(hours=2)
    assert not [e for e in levels.history(on_time) if e["type"] == "JeopardyChangeEvent"]


def test_the_jeopardy_queue_is_paged_and_refuses_an_unknown_level(levels):
    levels.set_simulator("field-service", async_reply=True, async_delay_ms=600_000)
    levels.await_callbacks = False
    orders = [levels.place(fiber(customer=f"c{n}")) for n in range(3)]
    levels.settle()
    levels.advance(hours=3)
    levels.step()

    first, rest = queue(levels, limit=2), queue(levels, offset=2, limit=2)
    assert (first["total"], first["count"], rest["count"]) == (3, 2, 1)
    assert sorted(o["order"] for o in first["orders"] + rest["orders"]) == sorted(orders)
    resp = levels.api("GET", "/api/v1/jeopardy", params={"level": "PURPLE"})
    assert resp.status_code == 400
    assert "level" in resp.text


def _callback(levels: EngineHarness, order_id: str) -> None:
    """The network answers the shipment of this order: completed."""
    sent = next(r for r in levels.simulator("network")["requests"] if r["body"]["order"] == order_id)
    resp = levels.api("POST", urlsplit(sent["body"]["callback_url"]).path, json={"status": "completed"})
    assert resp.status_code == 200, resp.text


def _levels_of(levels: EngineHarness, item: str) -> dict:
    body = levels.api("GET", "/api/v1/service-levels").json()
    return next(i for i in body["items"] if (i["product"], i["item"]) == ("gadget-line", item))


def test_a_duration_is_learned_after_enough_completions_and_a_configured_one_wins(levels):
    levels.set_simulator("network", async_reply=True, async_delay_ms=600_000)
    levels.await_callbacks = False
    shipped = [levels.place(gadget(customer=f"c{n}")) for n in range(LEARN_AFTER)]
    levels.settle()
    assert {levels.item(o, "ship")["state"] for o in shipped} == {"waiting"}

    # shipments of 1, 2, 3 and 4 minutes
    for order_id in shipped:
        levels.advance(minutes=1)
        _callback(levels, order_id)
        levels.settle()
        if order_id != shipped[-1]:  # fewer completions than LEARN_AFTER: nothing learned yet
            assert _levels_of(levels, "ship")["learned_s"] is None
    assert {levels.order(o)["state"] for o in shipped} == {"completed"}

    ship = _levels_of(levels, "ship")
    # the 80th percentile of 60, 120, 180, 240 s: 180 + 0.4 x 60
    assert ship == {"product": "gadget-line", "action": "add", "item": "ship", "system": "network",
                    "configured_s": None, "learned_s": pytest.approx(204.0), "completions": 4,
                    "expected_s": pytest.approx(204.0), "source": "learned"}
    configure = _levels_of(levels, "configure")
    # learned too (a synchronous call took no time on this clock), but configured wins
    assert (configure["configured_s"], configure["learned_s"], configure["expected_s"],
            configure["source"]) == (3600.0, 0.0, 3600.0, "configured")

    # the next order is planned with the learned duration where none is configured
    placed = levels.clock.now()
    next_order = levels.place(gadget(customer="c-next"))
    assert levels.item(next_order, "ship")["expected_duration_s"] == pytest.approx(204.0)
    assert levels.item(next_order, "configure")["expected_duration_s"] == 3600.0
    assert at(levels.order(next_order)["expectedCompletionDate"]) == placed + timedelta(seconds=3804)
