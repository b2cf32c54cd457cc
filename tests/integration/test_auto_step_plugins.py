"""Auto-step plug-ins: a step installed from examples/plugin/ (the ``ordertower-numbering``
distribution, a dev dependency of this project) is found through its entry point and runs in
an order like a built-in step; its exception is a retryable failure that ends in fallout with
its message when the item's retries are spent. Through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from importlib.metadata import distribution

import pytest

from ordertower.engine.steps import registered_steps

from ..support.catalogs import fast_retries, write_catalog

MOBILE_LINE = "2/mobile-line"


def reserving_numbers(docs) -> None:
    """The reference catalog, with the mobile line's number reserved by the plug-in before
    activation (the network is the numbering system) and sent with the activation."""
    fast_retries(docs, max_attempts=3)
    scenario = next(s for s in docs["telecom.yaml"]["scenarios"]
                    if (s["product"], s["action"]) == ("mobile-line", "add"))
    activate = scenario["items"][0]
    scenario["items"].insert(0, {"id": "reserve-number", "type": "auto", "name": "Reserve the number",
                                 "step": "reserve-number", "system": "network",
                                 "outputs": {"msisdn": "msisdn"}})
    activate["after"] = [*activate["after"], "reserve-number"]
    activate["request"]["body"]["msisdn"] = "${msisdn}"


@pytest.fixture
def plugin_server(server_factory, tmp_path):
    return server_factory(catalog_path=str(write_catalog(tmp_path / "catalog", reserving_numbers)))


def _reservations(server) -> list[dict]:
    return [r for r in server.simulator("network")["requests"] if r["path"].endswith("/numbers/reservations")]


def test_the_example_plugin_is_installed_and_found_through_its_entry_point():
    dist = distribution("ordertower-numbering")
    assert [ep.name for ep in dist.entry_points if ep.group == "ordertower.auto_steps"] == ["reserve-number"]
    steps = registered_steps()
    assert steps.origins["reserve-number"] == "ordertower-numbering: ordertower_numbering:reserve_number"
    # the built-in steps are found the same way, from ordertower's own entry points
    assert steps.origins["assetize"].startswith("ordertower: ")
    assert steps.origins["plan-order"].startswith("ordertower: ")


def test_an_order_runs_the_plugin_step_and_its_number_reaches_the_line_and_the_network(plugin_server):
    server = plugin_server
    order_id = server.post_order().json()["id"]
    assert server.wait_for(order_id, timeout=90)["state"] == "completed"

    items = {i["key"]: i for i in server.plan(order_id)["items"]}
    reserve = items[f"{MOBILE_LINE}#reserve-number"]
    assert reserve["type"] == "auto" and reserve["state"] == "completed" and reserve["attempts"] == 1
    number = reserve["output"]["msisdn"]
    assert re.fullmatch(r"\+316\d{8}", number)
    assert reserve["id"] in items[f"{MOBILE_LINE}#activate"]["depends_on"]
    # the numbering system was asked once, with the item's idempotency key
    [asked] = _reservations(server)
    assert asked["body"] == {"msisdn": number, "order": order_id, "line": MOBILE_LINE}
    assert asked["idempotency_key"] == reserve["id"]
    # the output went into the line, and the activation sent it to the network
    lines = server.client.get(f"/api/v1/orders/{order_id}/decomposition").json()["lines"]
    line = next(ln for ln in lines if ln["technical_product"] == "mobile-line")
    assert line["attributes"]["msisdn"] == number
    [activation] = [r for r in server.simulator("network")["requests"] if r["path"].endswith("/lines/activate")]
    assert activation["body"]["msisdn"] == number


def test_a_failing_plugin_step_is_retried_then_falls_out_with_its_message_and_recovers(plugin_server):
    server = plugin_server
    server.set_simulator("network", failure_rate=1.0)
    order_id = server.post_order().json()["id"]

    item = server.wait_for_item(order_id, f"{MOBILE_LINE}#reserve-number", {"fallout"}, timeout=60)
    assert item["attempts"] == 3  # the retry policy (fixed, 3 attempts) was spent
    assert re.fullmatch(r"auto step 'reserve-number' failed: the numbering system answered 503 "
                        r"for \+316\d{8}", item["last_error"]), item["last_error"]
    assert server.wait_for(order_id, states={"held"})["state"] == "held"
    asked = _reservations(server)
    assert len(asked) == 3 and {r["idempotency_key"] for r in asked} == {item["id"]}
    attempts = server.client.get(f"/api/v1/plan-items/{item['id']}/attempts").json()["attempts"]
    assert [a["outcome"] for a in attempts] == ["retryable", "retryable", "retryable"]
    [listed] = server.client.get("/api/v1/fallout").json()["items"]
    assert (listed["id"], listed["order"], listed["error"]) == (item["id"], order_id, item["last_error"])

    # the numbering system is back: an operator's retry completes the order
    server.set_simulator("network", failure_rate=0.0)
    server.client.post(f"/api/v1/plan-items/{item['id']}/retry", json={"reason": "numbering is back"}
                       ).raise_for_status()
    assert server.wait_for(order_id, timeout=90)["state"] == "completed"
