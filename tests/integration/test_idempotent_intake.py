"""Idempotent order intake: POST productOrder, PATCH productOrder/{id} and POST
cancelProductOrder honour an ``Idempotency-Key`` header (IETF httpapi draft). A retry with the
key and the same body is answered the first response again; another body is refused; a
failed first attempt leaves the key free. On SQLite and on PostgreSQL, including two API
processes receiving the same key at the same instant."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from ordertower.domain.clock import ManualClock

from ordertower.adapters.store.tables import api_keys
from ordertower.services.access import key_hash

from ..support.live import ORDERS, SEED_ORDER, free_port
from ..support.waiting import wait_until

CANCEL = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


def seed(external_id: str = "idem-1", tier: str = "unlimited") -> dict:
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = external_id
    body["productOrderItem"][1]["product"]["productCharacteristic"] = [{"name": "tier", "value": tier}]
    return body


def orders_with(client: httpx.Client, external_id: str) -> int:
    resp = client.get(ORDERS, params={"externalId": external_id, "fields": "id"})
    resp.raise_for_status()
    return int(resp.headers["X-Total-Count"])


def assert_problem_naming_the_key(resp: httpx.Response, status: int, code: str | None = None) -> None:
    """A TMF Error (these are TMF622 operations) with ``status``, naming the header."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json;charset=utf-8"
    assert resp.json()["status"] == str(status)
    if code is not None:
        assert resp.json()["code"] == code
    assert [e["field"] for e in resp.json()["errors"]] == ["Idempotency-Key"]


# --- POST productOrder ---------------------------------------------------------------------

def test_a_retried_order_with_the_same_key_is_placed_once_and_answered_the_same(server):
    first = server.post_order(seed("idem-retry"), headers=keyed("order-42"))
    again = server.post_order(seed("idem-retry"), headers=keyed("order-42"))

    assert first.status_code == again.status_code == 201, again.text
    assert again.content == first.content
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert orders_with(server.client, "idem-retry") == 1


def test_the_same_key_with_another_body_is_refused_and_places_nothing(server):
    first = server.post_order(seed("idem-reuse"), headers=keyed("order-43"))
    other = server.post_order(seed("idem-reuse", tier="basic"), headers=keyed("order-43"))

    assert first.status_code == 201, first.text
    # the draft's 422 is not among the statuses TMF622 declares: 400, the kind in code
    assert_problem_naming_the_key(other, 400, "idempotency-key-reused")
    assert orders_with(server.client, "idem-reuse") == 1


def test_an_order_without_a_key_is_placed_each_time_as_before(server):
    assert server.post_order(seed("idem-none")).status_code == 201
    second = server.post_order(seed("idem-none"))
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert orders_with(server.client, "idem-none") == 2


@pytest.mark.parametrize("bad_key", ["", "x" * 256, "clé-non-ascii", "tab\there"])
def test_a_malformed_key_is_refused_and_places_nothing(server, bad_key):
    resp = server.client.post(ORDERS, json=seed("idem-bad"),
                              headers={"Idempotency-Key": bad_key.encode("utf-8")})
    assert_problem_naming_the_key(resp, 400)
    assert orders_with(server.client, "idem-bad") == 0


def test_a_refused_first_attempt_leaves_the_key_free_for_the_corrected_order(server):
    wrong = seed("idem-fix")
    wrong["productOrderItem"][0]["productOffering"]["id"] = "no-such-product"

    refused = server.post_order(wrong, headers=keyed("order-44"))
    corrected = server.post_order(seed("idem-fix"), headers=keyed("order-44"))

    assert refused.status_code == 400 and refused.json()["code"] == "invalid-order", refused.text
    assert corrected.status_code == 201, corrected.text
    assert "Idempotent-Replayed" not in corrected.headers
    assert orders_with(server.client, "idem-fix") == 1


def test_an_expired_key_is_handled_as_a_new_one(server_factory):
    clock = ManualClock(datetime.now(timezone.utc))
    server = server_factory(idempotency_ttl_seconds=60, start_workers=False, clock=clock)
    first = server.post_order(seed("idem-expiry"), headers=keyed("order-45"))
    assert first.status_code == 201, first.text
    clock.advance(seconds=59)
    within = server.post_order(seed("idem-expiry"), headers=keyed("order-45"))
    assert within.headers["Idempotent-Replayed"] == "true"

    clock.advance(seconds=2)  # the key has expired: the request is placed anew
    fresh = server.post_order(seed("idem-expiry"), headers=keyed("order-45"))

    assert fresh.status_code == 201, fresh.text
    assert "Idempotent-Replayed" not in fresh.headers
    assert fresh.json()["id"] != first.json()["id"]
    assert orders_with(server.client, "idem-expiry") == 2
    replay = server.post_order(seed("idem-expiry"), headers=keyed("order-45"))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == fresh.json()["id"]


def test_two_callers_using_the_same_key_each_place_their_order(server_factory):
    server = server_factory(auth=True, bootstrap_key="admin-key-a", start_workers=False)
    with server.container.store.uow() as uow:
        uow.conn.execute(api_keys.insert().values(id="key-b", name="crm-b", role="agent",
                                                  key_hash=key_hash("agent-key-b"),
                                                  created_at=uow.clock.now()))
        uow.commit()
    mine = server.post_order(seed("idem-callers"), headers=keyed("shared-key"))
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer agent-key-b"}) as other:
        theirs = other.post(ORDERS, json=seed("idem-callers"), headers=keyed("shared-key"))

    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert mine.json()["id"] != theirs.json()["id"]
    assert orders_with(server.client, "idem-callers") == 2


# --- PATCH productOrder/{id} and POST cancelProductOrder ----------------------------------

def test_a_retried_amendment_or_cancellation_is_applied_once(server):
    server.client.put("/api/v1/systems/network", json={"offline": True}).raise_for_status()
    order_id = server.post_order(seed("idem-changes")).json()["id"]
    amendment = {"productOrderItem": seed(tier="unlimited-plus")["productOrderItem"]}

    amended = server.client.patch(f"{ORDERS}/{order_id}", json=amendment,
                                  headers=keyed("amend-1", **MERGE_PATCH))
    amended_again = server.client.patch(f"{ORDERS}/{order_id}", json=amendment,
                                        headers=keyed("amend-1", **MERGE_PATCH))

    assert amended.status_code == amended_again.status_code == 200, amended_again.text
    assert amended_again.content == amended.content
    assert amended_again.headers["ETag"] == amended.headers["ETag"]
    assert amended_again.headers["Idempotent-Replayed"] == "true"
    revisions = server.client.get(f"/api/v1/orders/{order_id}/revisions").json()["revisions"]
    assert len(revisions) == 1

    cancel = {"productOrder": {"id": order_id}, "cancellationReason": "changed mind"}
    cancelled = server.client.post(CANCEL, json=cancel, headers=keyed("cancel-1"))
    cancelled_again = server.client.post(CANCEL, json=cancel, headers=keyed("cancel-1"))

    assert cancelled.status_code == cancelled_again.status_code == 201, cancelled_again.text
    assert cancelled_again.content == cancelled.content
    assert cancelled_again.headers["Location"] == cancelled.headers["Location"]
    assert cancelled_again.headers["Idempotent-Replayed"] == "true"
    listed = server.client.get(CANCEL, params={"productOrder.id": order_id})
    assert listed.headers["X-Total-Count"] == "1"


def test_a_key_names_one_operation_on_one_target(server):
    """The same key on another operation or another order is another key."""
    server.client.put("/api/v1/systems/network", json={"offline": True}).raise_for_status()
    one = server.post_order(seed("idem-scope-1"), headers=keyed("k-1")).json()["id"]
    two = server.post_order(seed("idem-scope-2")).json()["id"]
    amendment = {"productOrderItem": seed(tier="basic")["productOrderItem"]}

    for order_id in (one, two):
        resp = server.client.patch(f"{ORDERS}/{order_id}", json=amendment,
                                   headers=keyed("k-1", **MERGE_PATCH))
        assert resp.status_code == 200, resp.text
        assert "Idempotent-Replayed" not in resp.headers
        assert resp.json()["id"] == order_id


# --- two API processes, one database -------------------------------------------------------

def _serve(database_url: str, tmp_path: Path, name: str, started: list) -> str:
    """Start `ordertower serve` (API only), recorded in ``started`` at once, and its URL
    once it answers /health."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("ordertower")), "serve", "--no-auth",
               "--port", str(port), "--database", database_url, "--workers", "0",
               "--no-simulators"]
    log = open(tmp_path / f"{name}.log", "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTOWER_")}
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    started.append((proc, log))
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, (tmp_path / f"{name}.log").read_text()
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, timeout=60, poll=0.1)
    return url


@pytest.fixture
def two_api_processes(database_url, tmp_path):
    """Two `ordertower serve` processes (API only) on one database, started one after the
    other (each migrates the schema at start)."""
    started: list[tuple[subprocess.Popen, object]] = []
    try:
        yield [_serve(database_url, tmp_path, name, started) for name in ("api-a", "api-b")]
    finally:
        for proc, _ in started:
            proc.terminate()
        for proc, log in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def test_two_api_processes_receiving_one_key_at_once_place_one_order(two_api_processes):
    clients = [httpx.Client(base_url=url, timeout=30) for url in two_api_processes]
    barrier = threading.Barrier(len(clients))
    try:
        for round_ in range(8):
            body, key = seed(f"idem-race-{round_}"), f"race-{round_}"
            answers: list[httpx.Response | None] = [None] * len(clients)

            def send(i: int) -> None:
                barrier.wait()
                answers[i] = clients[i].post(ORDERS, json=body, headers=keyed(key))

            threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

            assert orders_with(clients[0], f"idem-race-{round_}") == 1
            ids = set()
            for i, resp in enumerate(answers):
                assert resp is not None and resp.status_code in (201, 409), resp and resp.text
                if resp.status_code == 409:  # in progress: a retry once it is done is answered
                    assert_problem_naming_the_key(resp, 409)
                    resp = wait_until(lambda: (r := clients[i].post(ORDERS, json=body, headers=keyed(key)))
                                 .status_code != 409 and r)
                    assert resp.headers["Idempotent-Replayed"] == "true"
                assert resp.status_code == 201, resp.text
                ids.add(resp.json()["id"])
            assert len(ids) == 1
            assert orders_with(clients[1], f"idem-race-{round_}") == 1
    finally:
        for client in clients:
            client.close()
