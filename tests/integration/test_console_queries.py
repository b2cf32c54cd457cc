"""What the console's work pages count, on SQLite and PostgreSQL: the fallout queue grouped
by error (with the queue's filters), each system's throughput and error rate over the last
hour, and the bulk action on the items an operator selected."""

from __future__ import annotations

from ordertower.services import console_queries
from ordertower.services.fallout import list_fallout

from ..support.engine import order_body


def _fall_out_on_network(engine, n: int) -> list[str]:
    engine.set_simulator("network", failure_rate=1.0)
    orders = [engine.place(order_body(("1", "gadget", {"via": "once"}))) for _ in range(n)]
    engine.settle()
    engine.set_simulator("network", failure_rate=0.0)
    return orders


def _fall_out_on_market(engine) -> str:
    """A market call whose five attempts (1 s, 2 s, 4 s, 4 s apart) all fail."""
    engine.set_simulator("market", failure_rate=1.0)
    order_id = engine.place(order_body(("1", "gadget", {"via": "market"})))
    for _ in range(6):
        engine.settle()
        engine.advance(seconds=5)
    engine.settle()
    engine.set_simulator("market", failure_rate=0.0)
    assert engine.item(order_id, "call")["state"] == "fallout"
    return order_id


def test_fallout_is_grouped_by_error_most_frequent_first_with_the_queues_filters(engine):
    network_orders = _fall_out_on_network(engine, 2)
    market_order = _fall_out_on_market(engine)
    store = engine.container.store

    groups = console_queries.fallout_groups(store)

    assert [(g["error"].split(" ")[0], g["count"]) for g in groups] == [("network", 2), ("market", 1)]
    assert all(g["error"] == i["last_error"] for g in groups[:1] for i in list_fallout(store, system="network"))
    assert groups[0]["oldest"] <= groups[0]["newest"]
    assert [g["count"] for g in console_queries.fallout_groups(store, system="market")] == [1]
    assert console_queries.fallout_groups(store, error="no such error") == []
    assert [g["count"] for g in console_queries.fallout_groups(store, order_id=network_orders[0])] == [1]
    assert console_queries.fallout_groups(store, older_than_s=3600) == []
    engine.advance(hours=2)
    assert sum(g["count"] for g in console_queries.fallout_groups(store, older_than_s=3600)) == 3
    assert engine.order(market_order)["state"] == "held"


def test_a_systems_throughput_and_error_rate_count_the_attempts_of_the_last_hour(engine):
    for _ in range(3):
        engine.place(order_body(("1", "gadget", {"via": "network"})))
    engine.settle()
    _fall_out_on_network(engine, 1)  # one attempt, answered 503
    store = engine.container.store

    activity = console_queries.system_activity(store, ["network", "billing"])

    network = activity["network"]
    assert (network["attempts"], network["ok"], network["failed"]) == (4, 3, 1)
    assert network["error_rate"] == 0.25 and network["per_minute"] == 3 / 60
    assert activity["billing"] == {"attempts": 0, "ok": 0, "failed": 0, "per_minute": 0.0,
                                   "error_rate": None, "window_s": 3600.0}
    engine.advance(minutes=61)
    assert console_queries.system_activity(store, ["network"])["network"]["attempts"] == 0


def test_bulk_retry_of_selected_items_retries_those_and_reports_the_rest(engine):
    orders = _fall_out_on_network(engine, 3)
    picked = [engine.item(o, "call")["id"] for o in orders[:2]]

    resp = engine.api("POST", "/api/v1/fallout/actions",
                      json={"action": "retry", "items": picked + ["no-such-item"], "reason": "outage over"})

    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["item"] for r in results] == picked + ["no-such-item"]
    assert results[2]["error"].startswith("No plan item") and all(r["repeated"] is False for r in results[:2])
    engine.settle()
    assert [engine.order(o)["state"] for o in orders] == ["completed", "completed", "held"]
    again = engine.api("POST", "/api/v1/fallout/actions", json={"action": "skip", "items": picked})
    assert [r["error"] for r in again.json()["results"]] == ["plan item is completed, not in fallout"] * 2


def test_a_selection_must_be_a_list_of_ids_without_a_filter(engine):
    for body, field in (({"action": "retry", "items": "abc"}, "items"),
                        ({"action": "retry", "items": ["a"], "filter": {"system": "network"}}, "items"),
                        ({"action": "retry", "items": []}, "items"),
                        ({"action": "explode", "items": ["a"]}, "action")):
        resp = engine.api("POST", "/api/v1/fallout/actions", json=body)
        assert resp.status_code == 400, body
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in resp.json()["errors"]] == [field], body
