"""Specification of the fulfillment-system simulators (the app mounted at /simulators)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from ordertower.simulators import create_simulators_app
from ordertower.simulators.state import MAX_RECORDED_REQUESTS, SystemState

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_simulators_app()) as c:
        yield c


class CallbackRecorder:
    """A callback receiver: records every POST and answers with the scripted statuses."""

    def __init__(self, statuses: list[int] | None = None):
        self.calls: list[httpx.Request] = []
        self._statuses = list(statuses or [])

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        status = self._statuses.pop(0) if self._statuses else 200
        return httpx.Response(status, json={"ok": status < 400})

    def factory(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def recorded(client: TestClient, system: str) -> list[dict]:
    return client.get(f"/{system}").json()["requests"]


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= body.keys()
    assert body["status"] == status
    return body


# --- recording and answering -------------------------------------------------------------


def test_records_each_fulfillment_request_with_its_idempotency_key(client: TestClient) -> None:
    client.post("/warehouse/shipments", json={"sku": "X1"}, headers={"Idempotency-Key": "k-1"})
    client.get("/warehouse/shipments/42")

    first, second = recorded(client, "warehouse")
    assert first["method"] == "POST"
    assert first["path"] == "/shipments"
    assert first["idempotency_key"] == "k-1"
    assert first["body"] == {"sku": "X1"}
    assert first["status"] == 201
    assert first["id"]
    assert datetime.fromisoformat(first["received_at"]).utcoffset().total_seconds() == 0
    assert second["method"] == "GET"
    assert second["path"] == "/shipments/42"
    assert second["idempotency_key"] is None
    assert second["body"] is None


def test_success_is_201_for_post_and_200_otherwise_echoing_the_request(
    client: TestClient,
) -> None:
    created = client.post("/billing/subscriptions", json={"plan": "basic"})
    changed = client.patch("/billing/subscriptions/7", json={"plan": "unlimited"})

    assert created.status_code == 201
    assert created.json()["status"] == "done"
    assert created.json()["system"] == "billing"
    assert created.json()["request"] == {"plan": "basic"}
    assert changed.status_code == 200
    assert changed.json()["request"] == {"plan": "unlimited"}
    assert created.json()["id"] != changed.json()["id"]


def test_network_activation_returns_an_msisdn_deterministic_from_the_key(
    client: TestClient,
) -> None:
    first = client.post("/network/lines/activate", json={}, headers={"Idempotency-Key": "a"})
    client.delete("/network")
    again = client.post("/network/lines/activate", json={}, headers={"Idempotency-Key": "a"})
    other = client.post("/network/lines/activate", json={}, headers={"Idempotency-Key": "b"})
    shipment = client.post("/warehouse/activations", json={})

    assert first.json()["msisdn"].startswith("+")
    assert first.json()["msisdn"] == again.json()["msisdn"]
    assert other.json()["msisdn"] != first.json()["msisdn"]
    assert "msisdn" not in shipment.json()


def test_malformed_json_body_is_recorded_raw_and_truncated_without_a_server_error(
    client: TestClient,
) -> None:
    response = client.post(
        "/warehouse/shipments", content="{not json" + "x" * 5000,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 201
    (entry,) = recorded(client, "warehouse")
    assert entry["body"] is None
    assert entry["raw_body"].startswith("{not json")
    assert len(entry["raw_body"]) == 2000


def test_recorded_requests_are_bounded_to_the_last_ten_thousand() -> None:
    state = SystemState("warehouse")
    for n in range(MAX_RECORDED_REQUESTS + 5):
        state.record(
            method="POST", path=f"/s/{n}", query="", headers={}, idempotency_key=None,
            body=None, raw_body=None,
        )

    assert len(state.requests) == MAX_RECORDED_REQUESTS
    assert state.requests[0]["path"] == "/s/5"


# --- latency and failures ----------------------------------------------------------------


def test_latency_delays_the_answer(client: TestClient) -> None:
    client.put("/warehouse", json={"latency_ms": 200})

    started = time.monotonic()
    response = client.post("/warehouse/shipments", json={})

    assert response.status_code == 201
    assert time.monotonic() - started >= 0.2


def test_fail_next_fails_exactly_that_many_requests_then_succeeds(client: TestClient) -> None:
    client.put("/warehouse", json={"fail_next": 2})

    statuses = [client.post("/warehouse/shipments", json={}).status_code for _ in range(4)]

    assert statuses == [503, 503, 201, 201]
    assert [r["status"] for r in recorded(client, "warehouse")] == statuses
    assert client.get("/warehouse").json()["settings"]["fail_next"] == 0


def test_a_failure_answers_503_problem_json(client: TestClient) -> None:
    client.put("/billing", json={"fail_next": 1})

    assert_problem(client.post("/billing/accounts", json={}), 503)


def test_failure_rate_one_always_fails_and_zero_never_fails(client: TestClient) -> None:
    client.put("/market", json={"failure_rate": 1.0})
    always = {client.post("/market/switches", json={}).status_code for _ in range(20)}
    client.put("/market", json={"failure_rate": 0.0})
    never = {client.post("/market/switches", json={}).status_code for _ in range(20)}

    assert always == {503}
    assert never == {201}


def test_failure_rate_is_reproducible_with_a_seed(client: TestClient) -> None:
    def run() -> list[int]:
        client.delete("/market")
        client.put("/market", json={"failure_rate": 0.5, "seed": 7})
        return [client.post("/market/switches", json={}).status_code for _ in range(30)]

    first, second = run(), run()

    assert first == second
    assert {503, 201} == set(first)


def test_offline_refuses_every_request_until_back_online(client: TestClient) -> None:
    client.put("/field-service", json={"offline": True})
    refused = client.post("/field-service/appointments", json={})
    client.put("/field-service", json={"offline": False})
    accepted = client.post("/field-service/appointments", json={})

    assert "offline" in assert_problem(refused, 503)["detail"]
    assert accepted.status_code == 201
    assert [r["status"] for r in recorded(client, "field-service")] == [503, 201]


# --- settings ----------------------------------------------------------------------------


def test_settings_update_is_partial(client: TestClient) -> None:
    client.put("/warehouse", json={"latency_ms": 5, "failure_rate": 0.25})
    response = client.put("/warehouse", json={"async_reply": True})

    settings = response.json()["settings"]
    assert response.status_code == 200
    assert settings["latency_ms"] == 5
    assert settings["failure_rate"] == 0.25
    assert settings["async_reply"] is True
    assert settings["async_delay_ms"] == 50


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"latency_ms": 1, "colour": "red"}, "colour"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"fail_next": True}, "fail_next"),
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"offline": "yes"}, "offline"),
        ({"async_reply": 1}, "async_reply"),
        ({"async_delay_ms": 2.5}, "async_delay_ms"),
        ({"seed": "x"}, "seed"),
        (["latency_ms"], "body"),
    ],
)
def test_bad_settings_are_refused_naming_the_field_and_change_nothing(
    client: TestClient, patch: object, field: str
) -> None:
    before = client.get("/warehouse").json()["settings"]

    response = client.put("/warehouse", json=patch)

    body = assert_problem(response, 422)
    assert field in [e["field"] for e in body["errors"]]
    assert client.get("/warehouse").json()["settings"] == before


def test_malformed_settings_json_is_refused(client: TestClient) -> None:
    response = client.put("/warehouse", content="{", headers={"content-type": "application/json"})

    assert_problem(response, 400)


def test_delete_resets_settings_and_clears_requests(client: TestClient) -> None:
    client.put("/warehouse", json={"latency_ms": 1, "offline": True})
    client.post("/warehouse/shipments", json={})

    response = client.delete("/warehouse")

    state = client.get("/warehouse").json()
    assert response.status_code == 200
    assert state["requests"] == []
    assert state["settings"]["offline"] is False
    assert state["settings"]["latency_ms"] == 0


def test_root_lists_every_system_with_its_settings(client: TestClient) -> None:
    systems = client.get("/").json()["systems"]

    assert [s["name"] for s in systems] == [
        "warehouse", "network", "billing", "field-service", "market",
    ]
    assert all(s["settings"]["offline"] is False for s in systems)


def test_only_the_configured_systems_exist() -> None:
    with TestClient(create_simulators_app(["energy-market"])) as c:
        assert c.get("/energy-market").status_code == 200
        assert_problem(c.get("/warehouse"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nowhere"), ("PUT", "/nowhere"), ("DELETE", "/nowhere"), ("POST", "/nowhere/x")],
)
def test_unknown_system_is_a_404_problem(client: TestClient, method: str, path: str) -> None:
    body = assert_problem(client.request(method, path, json={}), 404)
    assert "nowhere" in body["detail"]


# --- idempotency -------------------------------------------------------------------------


def test_retry_with_the_same_idempotency_key_replays_the_same_reply(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-1-item-3-r1"}
    first = client.post("/warehouse/shipments", json={"sku": "X"}, headers=headers)
    retry = client.post("/warehouse/shipments", json={"sku": "X"}, headers=headers)

    assert retry.status_code == first.status_code == 201
    assert retry.json() == first.json()
    entries = recorded(client, "warehouse")
    assert [e["replayed"] for e in entries] == [False, True]


def test_the_same_key_on_another_path_is_new_work(client: TestClient) -> None:
    headers = {"Idempotency-Key": "k"}
    first = client.post("/warehouse/shipments", json={}, headers=headers)
    other = client.post("/warehouse/returns", json={}, headers=headers)

    assert other.json()["id"] != first.json()["id"]


def test_a_failed_attempt_is_not_replayed(client: TestClient) -> None:
    headers = {"Idempotency-Key": "k"}
    client.put("/warehouse", json={"fail_next": 1})
    failed = client.post("/warehouse/shipments", json={}, headers=headers)
    retry = client.post("/warehouse/shipments", json={}, headers=headers)

    assert failed.status_code == 503
    assert retry.status_code == 201
    assert recorded(client, "warehouse")[1]["replayed"] is False


# --- asynchronous replies ----------------------------------------------------------------


def test_async_reply_accepts_now_and_posts_the_result_to_the_callback_url() -> None:
    receiver = CallbackRecorder()
    app = create_simulators_app(callback_client_factory=receiver.factory)
    with TestClient(app) as c:
        c.put("/network", json={"async_reply": True, "async_delay_ms": 10})
        response = c.post(
            "/network/lines/activate",
            json={"callback_url": "http://ordertower/api/v1/callbacks/t1"},
            headers={"Idempotency-Key": "k"},
        )

        assert response.status_code == 202
        assert response.json()["status"] == "accepted"
        wait_until(lambda: len(receiver.calls) == 1)
        call = receiver.calls[0]
        payload = httpx.Response(200, content=call.content).json()
        assert call.method == "POST"
        assert str(call.url) == "http://ordertower/api/v1/callbacks/t1"
        assert payload["status"] == "completed"
        assert payload["result"]["id"] == response.json()["id"]
        assert payload["result"]["status"] == "done"
        assert payload["result"]["msisdn"].startswith("+")
        wait_until(lambda: recorded(c, "network")[0]["callback"]["state"] == "delivered")


def test_async_reply_uses_the_callback_header_when_the_body_has_none() -> None:
    receiver = CallbackRecorder()
    with TestClient(create_simulators_app(callback_client_factory=receiver.factory)) as c:
        c.put("/billing", json={"async_reply": True, "async_delay_ms": 0})
        response = c.post(
            "/billing/accounts", json={}, headers={"X-Callback-Url": "http://cb/here"}
        )

        assert response.status_code == 202
        wait_until(lambda: len(receiver.calls) == 1)
        assert str(receiver.calls[0].url) == "http://cb/here"


def test_async_reply_without_a_callback_url_answers_synchronously() -> None:
    receiver = CallbackRecorder()
    with TestClient(create_simulators_app(callback_client_factory=receiver.factory)) as c:
        c.put("/billing", json={"async_reply": True, "async_delay_ms": 0})
        response = c.post("/billing/accounts", json={"name": "A"})

        assert response.status_code == 201
        assert response.json()["status"] == "done"
        assert c.app.state.callbacks.pending == 0  # nothing was scheduled to call back
        assert recorded(c, "billing")[0].get("callback") is None
        assert receiver.calls == []


def test_undeliverable_callback_is_retried_then_listed_in_callback_errors() -> None:
    receiver = CallbackRecorder(statuses=[500, 500, 500, 500])
    with TestClient(create_simulators_app(callback_client_factory=receiver.factory)) as c:
        c.put("/warehouse", json={"async_reply": True, "async_delay_ms": 0})
        c.post("/warehouse/shipments", json={"callback_url": "http://cb/x"})

        wait_until(lambda: c.get("/warehouse").json()["callback_errors"] != [])
        (error,) = c.get("/warehouse").json()["callback_errors"]
        assert len(receiver.calls) == 4  # first attempt and three retries
        assert error["callback_url"] == "http://cb/x"
        assert error["attempts"] == 4
        assert "500" in error["error"]


def test_callback_delivered_after_a_transient_failure_is_not_an_error() -> None:
    receiver = CallbackRecorder(statuses=[503])
    with TestClient(create_simulators_app(callback_client_factory=receiver.factory)) as c:
        c.put("/warehouse", json={"async_reply": True, "async_delay_ms": 0})
        c.post("/warehouse/shipments", json={"callback_url": "http://cb/x"})

        wait_until(lambda: recorded(c, "warehouse")[0]["callback"]["state"] == "delivered")
        assert len(receiver.calls) == 2
        assert c.get("/warehouse").json()["callback_errors"] == []


def test_mounted_at_simulators_the_recorded_path_is_relative_to_the_system() -> None:
    from fastapi import FastAPI

    server = FastAPI()
    server.mount("/simulators", create_simulators_app())
    with TestClient(server) as c:
        response = c.post("/simulators/warehouse/shipments", json={"sku": "X"})
        requests = c.get("/simulators/warehouse").json()["requests"]

    assert response.status_code == 201
    assert [r["path"] for r in requests] == ["/shipments"]


def test_with_a_callback_prefix_a_reply_to_any_other_url_is_refused_and_nothing_is_posted() -> None:
    # serve's simulators post only to serve's callback route: no client can make them post
    # to another address (SSRF through an asynchronous reply)
    receiver = CallbackRecorder()
    app = create_simulators_app(callback_client_factory=receiver.factory,
                                callback_prefix="http://ordertower/api/v1/callbacks/")
    with TestClient(app) as c:
        c.put("/network", json={"async_reply": True, "async_delay_ms": 0})
        elsewhere = c.post("/network/lines/activate",
                           json={"callback_url": "http://169.254.169.254/latest/meta-data"})
        by_header = c.post("/network/lines/activate", json={},
                           headers={"X-Callback-URL": "http://10.0.0.1/admin"})
        ours = c.post("/network/lines/activate",
                      json={"callback_url": "http://ordertower/api/v1/callbacks/t1"})

        assert elsewhere.status_code == by_header.status_code == 400
        assert elsewhere.json()["errors"][0]["field"] == "callback_url"
        assert ours.status_code == 202
        wait_until(lambda: len(receiver.calls) == 1)
        assert [str(call.url) for call in receiver.calls] == ["http://ordertower/api/v1/callbacks/t1"]
        assert len(recorded(c, "network")) == 1  # the refused requests changed nothing


# --- requests in flight ------------------------------------------------------------------


def test_in_flight_and_its_peak_count_the_requests_inside_a_system_at_once() -> None:
    app = create_simulators_app()

    async def run() -> tuple[dict, dict, dict]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            await client.put("/warehouse", json={"latency_ms": 1000})
            await client.put("/billing", json={"fail_next": 1, "latency_ms": 300})

            async def inside_now() -> dict:
                return (await client.get("/warehouse")).json()

            # five requests overlap inside the warehouse (each waits a second there); one fails
            # inside billing; a snapshot taken while they wait sees them all in flight
            async def look_while_inside() -> dict:
                while (shown := await inside_now())["in_flight"] < 5:
                    await asyncio.sleep(0)  # let the requests in: a yield, not a wait
                return shown

            during, *answers = await asyncio.gather(
                look_while_inside(),
                *(client.post("/warehouse/shipments", json={"n": n}) for n in range(5)),
                client.post("/billing/accounts", json={}),
            )
            assert [a.status_code for a in answers] == [201] * 5 + [503]
            after = await inside_now()
            billing = (await client.get("/billing")).json()
            return during, after, billing

    during, after, billing = asyncio.run(run())

    assert (during["in_flight"], during["peak_in_flight"]) == (5, 5)
    assert all(r["status"] is None and r["answered_at"] is None for r in during["requests"])
    assert (after["in_flight"], after["peak_in_flight"]) == (0, 5)  # answered: out, the peak stays
    assert all(r["answered_at"] >= r["received_at"] for r in after["requests"])
    assert (billing["in_flight"], billing["peak_in_flight"]) == (0, 1)  # a failure leaves too


def test_in_flight_leaves_on_offline_and_a_reset_starts_the_peak_again(client: TestClient) -> None:
    client.post("/warehouse/shipments", json={})
    client.put("/warehouse", json={"offline": True})
    assert client.post("/warehouse/shipments", json={}).status_code == 503
    shown = client.get("/warehouse").json()
    assert (shown["in_flight"], shown["peak_in_flight"]) == (0, 1)
    listed = next(s for s in client.get("/").json()["systems"] if s["name"] == "warehouse")
    assert (listed["in_flight"], listed["peak_in_flight"]) == (0, 1)

    client.delete("/warehouse")

    shown = client.get("/warehouse").json()
    assert (shown["in_flight"], shown["peak_in_flight"]) == (0, 0)
