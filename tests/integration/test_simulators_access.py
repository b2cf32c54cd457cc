"""The simulators take a key like the API: without one nobody reads their request log (callout
bodies, callback URLs) or changes their settings; a viewer reads the log with every callback
token redacted; an operator sees the tokens and changes settings. On SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from ordertower.services.access import create_key
from tests.support.engine import ORCHESTRATION_CATALOG, order_body
from tests.support.waiting import wait_until

ADMIN_KEY = "sims-admin-key"


@pytest.fixture
def secured(server_factory):
    """The orchestration world: a technician visit is booked with an asynchronous callout."""
    return server_factory(auth=True, bootstrap_key=ADMIN_KEY, catalog_path=str(ORCHESTRATION_CATALOG))


def as_role(server, role: str) -> httpx.Client:
    key = create_key(server.container.store, {"name": f"sim-{role}", "role": role}, "test")["key"]
    return httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {key}"})


def anonymous(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/simulators/", None),
    ("GET", "/simulators/warehouse", None),
    ("PUT", "/simulators/network", {"offline": True}),
    ("DELETE", "/simulators/warehouse", None),
])
def test_without_a_key_the_simulators_refuse_and_nothing_changes(secured, method, path, body):
    with anonymous(secured) as c:
        resp = c.request(method, path, json=body)

    assert resp.status_code == 401, resp.text
    assert secured.simulator("network")["settings"]["offline"] is False


def test_a_viewer_may_read_but_not_take_a_simulated_system_offline(secured):
    with as_role(secured, "viewer") as viewer:
        read = viewer.get("/simulators/network")
        put = viewer.put("/simulators/network", json={"offline": True})
    with as_role(secured, "operator") as operator:
        by_operator = operator.put("/simulators/network", json={"latency_ms": 1})

    assert read.status_code == 200
    assert put.status_code == 403
    assert by_operator.status_code == 200
    settings = secured.simulator("network")["settings"]
    assert settings["offline"] is False and settings["latency_ms"] == 1


def test_a_viewer_reads_the_request_log_without_callback_tokens_an_operator_with_them(secured):
    secured.set_simulator("field-service", async_reply=True, async_delay_ms=60_000)
    order = secured.post_order(order_body(("1", "fiber", {"speed": 500}))).json()

    def callback_urls() -> list[str]:
        requests = secured.simulator("field-service")["requests"]
        return [r["headers"].get("x-callback-url") for r in requests if r["headers"].get("x-callback-url")]

    urls = wait_until(callback_urls, what="an asynchronous callout to the field service")
    token = urls[0].rsplit("/", 1)[1]
    assert len(token) > 10 and order["id"]
    with as_role(secured, "viewer") as viewer:
        seen_by_viewer = viewer.get("/simulators/field-service")
    with as_role(secured, "operator") as operator:
        seen_by_operator = operator.get("/simulators/field-service")

    assert seen_by_viewer.status_code == 200
    assert token not in seen_by_viewer.text
    assert "/api/v1/callbacks/[redacted]" in seen_by_viewer.text
    assert token in seen_by_operator.text


def test_credentials_sent_to_a_simulated_system_are_never_recorded(secured):
    """A fulfillment request (what a worker sends the system) is recorded without them."""
    with anonymous(secured) as c:
        sent = c.post("/simulators/billing/accounts", json={"x": 1},
                      headers={"Authorization": "Bearer system-credential-123"})

    assert sent.status_code == 201
    log = secured.client.get("/simulators/billing")
    assert "system-credential-123" not in log.text
    assert log.json()["requests"][-1]["headers"]["authorization"] == "[redacted]"


def test_an_attempts_callback_token_is_shown_to_an_operator_not_to_a_viewer(secured):
    secured.set_simulator("field-service", async_reply=True, async_delay_ms=60_000)
    order = secured.post_order(order_body(("1", "fiber", {"speed": 500}))).json()

    def waiting_item():
        items = secured.plan(order["id"])["items"]
        return next((i for i in items if i["state"] == "waiting"), None)

    item = wait_until(waiting_item, what="an item waiting for its callback")
    path = f"/api/v1/plan-items/{item['id']}/attempts"
    with as_role(secured, "operator") as operator:
        url = operator.get(path).json()["attempts"][-1]["request"]["body"]["callback_url"]
    token = url.rsplit("/", 1)[1]
    with as_role(secured, "viewer") as viewer:
        seen = viewer.get(path)

    assert seen.status_code == 200
    assert token not in seen.text
    assert seen.json()["attempts"][-1]["request"]["body"]["callback_url"].endswith("/callbacks/[redacted]")
