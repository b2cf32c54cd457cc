"""The jeopardy queue on a live server, in real time (SQLite and PostgreSQL): a catalog whose
product promises 2 seconds, an activation that does not answer; once the expected date has
passed the order is RED, a JeopardyChangeEvent is on the server-sent event stream and reaches
a TMF hub listener, and `ordertower jeopardy list` shows the order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from ..support.listener import Listener
from ..support.waiting import wait_until
from .test_events_out import read_stream
from .test_operator_cli import cli, json_in
from .test_service_levels import CATALOG, at, fiber

HUB = "/tmf-api/productOrderingManagement/v4/hub"


@pytest.fixture
def quick(server_factory, tmp_path: Path):
    """The service-levels world with a lead time of 2 s (its port reserved in 1 s); jeopardy
    swept every 0.2 s."""
    text = (CATALOG / "catalog.yaml").read_text()
    assert "lead_time: 2h" in text and "expected_duration: 10m" in text
    (tmp_path / "catalog.yaml").write_text(text.replace("lead_time: 2h", "lead_time: 2s")
                                           .replace("expected_duration: 10m", "expected_duration: 1s"))
    server = server_factory(catalog_path=str(tmp_path), jeopardy_seconds=0.2,
                            events_poll_seconds=0.05, hub_retry_base_seconds=0.05)
    server.set_simulator("field-service", async_reply=True, async_delay_ms=600_000)
    return server


def test_an_order_past_its_expected_date_is_red_on_the_stream_the_hub_and_the_cli(quick):
    listener = Listener().start()
    try:
        hub = quick.client.post(HUB, json={
            "callback": listener.url, "query": "eventType=ProductOrderAttributeValueChangeEvent"})
        assert hub.status_code == 201, hub.text
        order_id = quick.post_order(fiber()).json()["id"]
        placed = quick.order(order_id)
        assert at(placed["expectedCompletionDate"]) - at(placed["orderDate"]) == pytest.approx(
            timedelta(seconds=2), abs=timedelta(milliseconds=500))

        def red(got):  # the order's own level (an item's events carry its key)
            return [e for e in got if e["event"] == "JeopardyChangeEvent" and not e["data"].get("key")]

        seen = red(read_stream(quick, lambda got: any(e["data"]["to"] == "RED" for e in red(got)),
                               {"order": order_id, "type": "JeopardyChangeEvent"}, timeout=60))
        # GREEN to RED (by way of YELLOW when a slow machine kept the port waiting past its 1 s),
        # each change from the level the one before left
        changes = [(e["data"]["from"], e["data"]["to"]) for e in seen]
        assert changes[0][0] == "GREEN" and changes[-1][1] == "RED", changes
        assert all(a[1] == b[0] for a, b in zip(changes, changes[1:])), changes
        change = seen[-1]["data"]
        assert change["order"] == order_id and change["due"], change
        assert at(change["due"]) - at(placed["expectedCompletionDate"]) < timedelta(milliseconds=1)
        # not before the date had passed (the stream's times are to the millisecond)
        assert at(change["at"]) >= at(change["due"]) - timedelta(milliseconds=1)

        told = listener.wait_for(lambda got: any(e["event"]["productOrder"]["id"] == order_id
                                                 and e["event"]["productOrder"]["jeopardy"] == "RED"
                                                 for e in got), timeout=60)
        assert {e["eventType"] for e in told} == {"ProductOrderAttributeValueChangeEvent"}
    finally:
        listener.stop()

    queued = quick.client.get("/api/v1/jeopardy").json()["orders"]  # RED since the date passed
    assert [o["order"] for o in queued] == [order_id]

    shown = cli(quick, "jeopardy", "list")
    assert shown.exit_code == 0, shown.output
    assert order_id in shown.output and "RED" in shown.output and "1-1 of 1" in shown.output
    assert "No order in jeopardy." in cli(quick, "jeopardy", "list", "--level", "YELLOW").output
    page = json_in(cli(quick, "jeopardy", "list", "--level", "RED", "--json").stdout)
    assert (page["total"], page["orders"][0]["order"]) == (1, order_id)
    refused = cli(quick, "jeopardy", "list", "--level", "PURPLE")
    assert refused.exit_code != 0

    levels = cli(quick, "jeopardy", "levels")
    assert levels.exit_code == 0, levels.output
    assert "fiber" in levels.output and "2s" in levels.output  # the lead time as written
    assert "1h" in levels.output  # the configured duration of configure


def test_the_console_shows_the_jeopardy_queue_with_a_nav_link(quick):
    order_id = quick.post_order(fiber()).json()["id"]
    wait_until(lambda: quick.client.get("/api/v1/jeopardy", params={"level": "RED"}).json()["orders"],
               timeout=60, what="the order RED in the jeopardy queue")

    browser = httpx.Client(base_url=quick.url, timeout=30, follow_redirects=True)
    page = browser.get("/console/jeopardy")  # without access control: logged in on the way
    assert page.status_code == 200, page.text
    assert '<a href="/console/jeopardy" aria-current="page">Jeopardy</a>' in page.text
    assert f'data-order="{order_id}" data-jeopardy="RED"' in page.text
    assert "<script>" not in page.text  # the CSP allows no inline script
    assert 'data-empty' in browser.get("/console/jeopardy/rows?level=YELLOW").text
    assert order_id in browser.get("/console/jeopardy/rows?level=RED").text
    assert browser.get("/console/jeopardy?level=PURPLE").status_code == 400
    assert 'href="/console/jeopardy"' in browser.get("/console/orders").text
