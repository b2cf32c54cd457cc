"""The circuit breaker of a fulfillment system, on SQLite and PostgreSQL: the network goes
down, its breaker opens by itself after N transport failures, its items wait ``onHold``
(nothing falls out, no attempt is spent), and when the network is back every order completes
with no operator action. An operator's offline wins over the breaker.

The live-server tests run the real worker loop on the wall clock; the harness tests step the
engine on a hand-moved clock, to show what happens at each probe."""

from __future__ import annotations

import copy

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..support.catalogs import system, write_catalog
from ..support.engine import EngineHarness
from ..support.live import SEED_ORDER
from ..support.waiting import wait_until

ACTIVATE = "2/mobile-line#activate"


def seed_order(n: int) -> dict:
    """The seed order for a customer of its own (no billing account shared between orders)."""
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = f"breaker-{n}"
    body["relatedParty"][0]["id"] = f"cust-breaker-{n}"
    return body


def with_breaker(failures: int, probe_after: str, *, health_path: str | None = None,
                 retry: dict | None = None):
    def change(docs):
        for s in docs["systems.yaml"]["systems"]:
            s["retry"] = retry or {"strategy": "fixed", "interval": "50ms", "max_attempts": 6}
        network = system(docs, "network")
        network["breaker"] = {"failures": failures, "probe_after": probe_after}
        if health_path:
            network["health_path"] = health_path
    return change


def network_of(client) -> dict:
    return next(s for s in client.get("/api/v1/systems").json() if s["id"] == "network")


def breaker_changes(client) -> list[tuple[str, str]]:
    entries = client.get("/api/v1/audit", params={"action": "SystemStateChangeEvent",
                                                  "limit": 500}).json()
    entries = entries["items"] if isinstance(entries, dict) else entries
    return [(e["details"]["from"], e["details"]["breaker"]) for e in sorted(entries, key=lambda e: e["id"])
            if "breaker" in e["details"]]


def scrape(client) -> dict[tuple[str, tuple], float]:
    """One scrape of /metrics: every sample by name and labels."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(client.get("/metrics").text)
            for sample in family.samples}


def metric(samples: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"no sample {name} {labels}"
    return samples[key]


# --- the live server: the real worker loop ------------------------------------------------

@pytest.mark.timeout(300)
def test_a_network_outage_opens_the_breaker_holds_its_items_and_every_order_completes_when_it_is_back(
        server_factory, tmp_path):
    catalog = write_catalog(tmp_path / "catalog", with_breaker(3, "1s", health_path="/health"))
    server = server_factory(catalog_path=str(catalog))
    server.set_simulator("network", offline=True)

    order_ids = [server.post_order(seed_order(n)).json()["id"] for n in range(4)]

    def activations():
        return [next(i for i in server.plan(o)["items"] if i["key"] == ACTIVATE) for o in order_ids]

    wait_until(lambda: all(a["state"] == "onHold" for a in activations()), timeout=120,
               what="every activation held")
    network = network_of(server.client)
    assert network["breaker"]["state"] in ("open", "half-open")
    assert network["breaker"]["consecutive_failures"] >= 3 and network["breaker"]["opened_at"]
    assert network["offline"] is False  # nobody marked it offline: the breaker did
    assert server.client.get("/api/v1/fallout").json()["items"] == []
    assert all(server.order(o)["state"] in ("acknowledged", "inProgress") for o in order_ids)
    samples = scrape(server.client)  # one scrape: the breaker flips between open and half-open
    assert metric(samples, "ordertower_system_breaker_state", system="network", state="open") \
        + metric(samples, "ordertower_system_breaker_state", system="network", state="half-open") == 1
    assert metric(samples, "ordertower_system_breaker_state", system="network", state="closed") == 0
    assert metric(samples, "ordertower_system_breaker_state", system="warehouse", state="closed") == 1
    assert metric(samples, "ordertower_system_consecutive_failures", system="network") >= 3
    assert metric(samples, "ordertower_system_offline", system="network") == 0
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=True) as browser:
        browser.get("/")  # no access control: the console opens a session by itself
        page = browser.get("/console/systems/rows").text
    assert 'data-breaker="open"' in page or 'data-breaker="half-open"' in page

    # while it is open, only the health probe reaches the network: no item is attempted
    def requests(path_is_health: bool) -> int:
        return sum(1 for r in server.simulator("network")["requests"] if (r["path"] == "/health") == path_is_health)
    sent, probes, attempts = requests(False), requests(True), [a["attempts"] for a in activations()]
    wait_until(lambda: requests(True) >= probes + 2, timeout=60, what="two more health probes")
    assert requests(False) == sent
    assert [a["attempts"] for a in activations()] == attempts
    assert all(a["state"] == "onHold" for a in activations())

    server.set_simulator("network", offline=False)

    orders = [server.wait_for(o, timeout=120) for o in order_ids]
    assert [o["state"] for o in orders] == ["completed"] * 4
    assert server.client.get("/api/v1/fallout").json()["items"] == []
    network = network_of(server.client)
    assert network["breaker"]["state"] == "closed" and network["breaker"]["consecutive_failures"] == 0
    changes = breaker_changes(server.client)
    assert changes[0] == ("closed", "open") and changes[-1] == ("half-open", "closed")
    assert ("open", "half-open") in changes and ("half-open", "open") in changes  # a probe failed first
    assert metric(scrape(server.client), "ordertower_system_breaker_state", system="network", state="closed") == 1


@pytest.mark.timeout(300)
def test_without_a_health_path_the_next_held_item_is_the_trial_that_closes_the_breaker(
        server_factory, tmp_path):
    catalog = write_catalog(tmp_path / "catalog", with_breaker(2, "1s"))
    server = server_factory(catalog_path=str(catalog))
    server.set_simulator("network", offline=True)
    order_ids = [server.post_order(seed_order(n)).json()["id"] for n in range(3)]
    wait_until(lambda: ("open", "half-open") in breaker_changes(server.client)
               and ("half-open", "open") in breaker_changes(server.client),
               timeout=120, what="a trial that failed")

    server.set_simulator("network", offline=False)

    assert [server.wait_for(o, timeout=120)["state"] for o in order_ids] == ["completed"] * 3
    assert server.client.get("/api/v1/fallout").json()["items"] == []
    assert breaker_changes(server.client)[-1] == ("half-open", "closed")
    assert not any(r["path"] == "/health" for r in server.simulator("network")["requests"])


# --- the engine on a hand-moved clock ------------------------------------------------------

@pytest.fixture
def harness_factory(database_url, tmp_path):
    made = []

    def make(change) -> EngineHarness:
        harness = EngineHarness(database_url, catalog=write_catalog(tmp_path / f"c{len(made)}", change))
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


def _activation(engine: EngineHarness, order_id: str) -> dict:
    return next(i for i in engine.api("GET", f"/api/v1/orders/{order_id}/plan").json()["items"]
                if i["key"] == ACTIVATE)


def test_the_attempt_that_trips_the_breaker_and_failed_trials_are_not_charged(harness_factory):
    # two attempts allowed: without the breaker, the second failure would be fallout
    engine = harness_factory(with_breaker(2, "10s", retry={"strategy": "fixed", "interval": "1s",
                                                           "max_attempts": 2}))
    engine.set_simulator("network", offline=True)
    order_id = engine.place(seed_order(1))
    engine.settle()
    assert _activation(engine, order_id)["state"] == "retrying"  # the first failure is charged
    engine.advance(seconds=1)
    engine.settle()

    held = _activation(engine, order_id)
    assert held["state"] == "onHold" and held["attempts"] == 2  # two requests sent
    causes = [e.get("cause", "") for e in engine.history(order_id) if e.get("item") == held["id"]]
    assert any(c.startswith("attempt 2 not charged") for c in causes)
    systems = engine.api("GET", "/api/v1/systems").json()
    assert next(s for s in systems if s["id"] == "network")["breaker"]["state"] == "open"

    for trial in range(3):  # each probe sends the held item once more; each fails uncharged
        engine.advance(seconds=10)
        engine.settle()
        item = _activation(engine, order_id)
        assert item["state"] == "onHold" and item["attempts"] == 3 + trial
    assert engine.api("GET", "/api/v1/fallout").json()["items"] == []
    assert len(engine.simulator("network")["requests"]) == 5

    engine.set_simulator("network", offline=False)
    engine.advance(seconds=10)
    engine.settle()

    assert engine.order(order_id)["state"] == "completed"
    systems = engine.api("GET", "/api/v1/systems").json()
    assert next(s for s in systems if s["id"] == "network")["breaker"]["state"] == "closed"


def test_an_operator_offline_wins_over_the_breaker(harness_factory):
    engine = harness_factory(with_breaker(2, "10s"))
    engine.set_simulator("network", offline=True)
    order_ids = [engine.place(seed_order(n)) for n in range(2)]
    engine.settle()
    engine.advance(seconds=1)
    engine.settle()
    assert [_activation(engine, o)["state"] for o in order_ids] == ["onHold", "onHold"]

    put = engine.api("PUT", "/api/v1/systems/network", json={"offline": True, "reason": "maintenance"})
    assert put.status_code == 200 and put.json()["breaker"]["state"] == "open"
    engine.set_simulator("network", offline=False)
    sent = len(engine.simulator("network")["requests"])
    engine.advance(seconds=60)  # long past the probe: no probe goes to a system held by hand
    engine.settle()
    assert len(engine.simulator("network")["requests"]) == sent
    assert [_activation(engine, o)["state"] for o in order_ids] == ["onHold", "onHold"]

    online = engine.api("PUT", "/api/v1/systems/network", json={"offline": False})
    assert online.json()["offline"] is False and online.json()["breaker"]["state"] == "closed"
    engine.settle()
    assert [engine.order(o)["state"] for o in order_ids] == ["completed", "completed"]


def test_an_answer_resets_the_count_of_consecutive_failures(harness_factory):
    engine = harness_factory(with_breaker(2, "10s", retry={"strategy": "fixed", "interval": "1s",
                                                           "max_attempts": 6}))
    engine.set_simulator("network", fail_next=1)  # one 503: counted
    order_id = engine.place(seed_order(1))
    engine.settle()
    network = next(s for s in engine.api("GET", "/api/v1/systems").json() if s["id"] == "network")
    assert network["breaker"] == network["breaker"] | {"state": "closed", "consecutive_failures": 1}
    engine.advance(seconds=1)
    engine.settle()  # the retry is answered: the count starts again

    assert engine.order(order_id)["state"] == "completed"
    network = next(s for s in engine.api("GET", "/api/v1/systems").json() if s["id"] == "network")
    assert network["breaker"]["state"] == "closed" and network["breaker"]["consecutive_failures"] == 0
