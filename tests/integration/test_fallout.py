"""The fallout queue and the operator's actions: retry, retry with an edited request,
complete by hand, skip, cancel the order; in bulk; audited; a double click acts once."""

from __future__ import annotations

from ..support.engine import order_body


def _fall_out(engine, n: int = 1) -> list[str]:
    engine.set_simulator("network", failure_rate=1.0)
    orders = [engine.place(order_body(("1", "gadget", {"via": "once"}))) for _ in range(n)]
    engine.settle()
    engine.set_simulator("network", failure_rate=0.0)
    return orders


def _audit(engine, item_id):
    with engine.container.store.read() as uow:
        return uow.orchestration.actions_for(item_id=item_id)


def test_the_fallout_queue_lists_items_with_error_request_and_response_grouped_by_error(engine):
    orders = _fall_out(engine, 2)

    queue = engine.api("GET", "/api/v1/fallout").json()
    assert queue["count"] == 2
    item = queue["items"][0]
    assert item["system"] == "network" and item["attempts"] == 1
    assert item["error"].startswith("network answered 503")
    assert item["request"]["body"] == {"note": "original"}
    assert item["response_status"] == 503 and item["response_excerpt"]
    assert queue["groups"] == [{"error": item["error"], "count": 2, "items": [i["id"] for i in queue["items"]]}]
    assert engine.api("GET", "/api/v1/fallout", params={"system": "billing"}).json()["count"] == 0
    assert engine.api("GET", "/api/v1/fallout", params={"error": "503"}).json()["count"] == 2
    assert engine.api("GET", "/api/v1/fallout", params={"older_than": "1h"}).json()["count"] == 0
    engine.advance(hours=2)
    assert engine.api("GET", "/api/v1/fallout", params={"older_than": "1h"}).json()["count"] == 2
    assert {engine.order(o)["state"] for o in orders} == {"held"}


def test_retry_runs_the_item_again_and_the_order_resumes(engine):
    [order_id] = _fall_out(engine)
    item = engine.item(order_id, "call")

    resp = engine.api("POST", f"/api/v1/plan-items/{item['id']}/retry",
                      json={"reason": "network fixed", "actor": "olga"})
    assert resp.status_code == 200 and resp.json()["repeated"] is False
    assert engine.order(order_id)["state"] == "inProgress"
    engine.settle()

    assert engine.item(order_id, "call")["state"] == "completed"
    assert engine.order(order_id)["state"] == "completed"
    [audit] = _audit(engine, item["id"])
    assert (audit["action"], audit["actor"], audit["reason"]) == ("retry", "olga", "network fixed")


def test_a_double_click_acts_once(engine):
    [order_id] = _fall_out(engine)
    item = engine.item(order_id, "call")

    first = engine.api("POST", f"/api/v1/plan-items/{item['id']}/retry", json={"reason": "again"})
    second = engine.api("POST", f"/api/v1/plan-items/{item['id']}/retry", json={"reason": "again"})

    assert first.status_code == second.status_code == 200
    assert second.json()["repeated"] is True and second.json()["id"] == first.json()["id"]
    assert len(_audit(engine, item["id"])) == 1
    readied = [e for e in engine.history(order_id) if e.get("to") == "ready" and e.get("key", "").endswith("#call")]
    assert len(readied) == 1
    # acting on an item that is not in fallout (and was never acted on so) is refused
    engine.settle()
    skip = engine.api("POST", f"/api/v1/plan-items/{item['id']}/skip")
    assert skip.status_code == 409 and "not in fallout" in skip.json()["detail"]


def test_retry_with_an_edited_request_sends_the_edited_body(engine):
    [order_id] = _fall_out(engine)
    item = engine.item(order_id, "call")

    engine.api("POST", f"/api/v1/plan-items/{item['id']}/retry",
               json={"reason": "fix the note", "request": {"body": {"note": "edited"}}})
    engine.settle()

    assert engine.simulator("network")["requests"][-1]["body"] == {"note": "edited"}
    assert engine.item(order_id, "call")["state"] == "completed"
    assert _audit(engine, item["id"])[0]["details"]["request_body"] == {"note": "edited"}


def test_complete_by_hand_records_the_output_and_releases_the_successors(engine):
    engine.set_simulator("network", failure_rate=1.0)
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=0)
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100})))
    engine.settle()
    engine.advance(seconds=10)
    engine.settle()
    engine.advance(seconds=10)
    engine.settle()
    reserve = engine.item(order_id, "reserve-port")
    assert reserve["state"] == "fallout" and reserve["attempts"] == 3

    done = engine.api("POST", f"/api/v1/plan-items/{reserve['id']}/complete",
                      json={"reason": "port reserved by phone", "output": {"id": "PORT-77"}})
    assert done.status_code == 200
    engine.settle()

    assert engine.item(order_id, "reserve-port")["output"] == {"id": "PORT-77"}
    assert engine.simulator("field-service")["requests"][0]["body"]["port"] == "PORT-77"
    assert engine.order(order_id)["state"] == "completed"


def test_skip_releases_the_successors_without_running_the_item(engine):
    [order_id] = _fall_out(engine)
    item = engine.item(order_id, "call")

    engine.api("POST", f"/api/v1/plan-items/{item['id']}/skip", json={"reason": "not needed"})
    engine.settle()

    assert engine.item(order_id, "call")["state"] == "skipped"
    assert engine.order(order_id)["state"] == "completed"


def test_cancel_the_order_from_fallout(engine):
    [order_id] = _fall_out(engine)
    item = engine.item(order_id, "call")

    resp = engine.api("POST", f"/api/v1/plan-items/{item['id']}/cancel-order", json={"reason": "duplicate order"})

    assert resp.status_code == 200 and resp.json()["details"]["order_state"] == "cancelled"
    assert engine.order(order_id)["state"] == "cancelled"
    assert {i["state"] for i in engine.items(order_id).values()} == {"cancelled"}
    changes = [(e["from"], e["to"]) for e in engine.history(order_id) if e["type"] == "ProductOrderStateChangeEvent"]
    assert changes[-3:] == [("held", "assessingCancellation"), ("assessingCancellation", "pendingCancellation"),
                            ("pendingCancellation", "cancelled")]


def test_bulk_retry_over_a_filter_acts_on_every_matching_item_once(engine):
    orders = _fall_out(engine, 3)

    first = engine.api("POST", "/api/v1/fallout/actions",
                       json={"action": "retry", "filter": {"system": "network", "error": "503"},
                             "reason": "outage over"}, headers={"Idempotency-Key": "bulk-1"})
    again = engine.api("POST", "/api/v1/fallout/actions",
                       json={"action": "retry", "filter": {"system": "network"}}, headers={"Idempotency-Key": "bulk-1"})

    assert first.status_code == 200 and first.json()["count"] == 3
    assert again.json()["count"] == 0  # nothing is in fallout any more
    engine.settle()
    assert {engine.order(o)["state"] for o in orders} == {"completed"}
    bad = engine.api("POST", "/api/v1/fallout/actions", json={"action": "retry", "filter": {}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "filter"
    bad = engine.api("POST", "/api/v1/fallout/actions", json={"action": "retry", "filter": {"sytem": "x"}})
    assert bad.json()["errors"][0]["field"] == "filter.sytem"
