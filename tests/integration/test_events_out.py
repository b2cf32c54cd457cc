"""Events out, on SQLite and PostgreSQL: server-sent events (GET /api/v1/events) and TMF hub
listeners fed by the dispatcher, at least once and in order per order, across failures of
the listener and of a dispatcher; and the outbox read without ever skipping an event."""

from __future__ import annotations

import copy
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx
import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.event_feed import EventFeed
from ordertower.adapters.store.tables import event_subscriptions, events
from ordertower.domain.notifications import PRODUCT_ORDERING, kinds_for

from ..support.listener import Listener
from ..support.waiting import wait_until
from ..support.live import SEED_ORDER

HUB = "/tmf-api/productOrderingManagement/v4/hub"
INVENTORY_HUB = "/tmf-api/productInventory/v4/hub"
FAST = dict(events_poll_seconds=0.05, sse_heartbeat_seconds=0.3, hub_retry_base_seconds=0.05,
            hub_retry_max_seconds=0.2)


@pytest.fixture
def fast_server(server_factory):
    return server_factory(**FAST)


def _order(customer: str = "cust-42") -> dict[str, Any]:
    body = copy.deepcopy(SEED_ORDER)
    body["relatedParty"] = [{"id": customer, "role": "customer", "@referredType": "Individual"}]
    return body


# --- server-sent events --------------------------------------------------------------------

def read_stream(server, until: Callable[[list[dict[str, Any]]], bool], params: dict | None = None,
                headers: dict | None = None, timeout: float = 30,
                comments: list[str] | None = None) -> list[dict[str, Any]]:
    """Events of the stream ({"id", "event", "data"}) until ``until`` holds for them (the
    comment lines seen go into ``comments``)."""
    import json

    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url, timeout=10, headers=server.client.headers) as client:
        with client.stream("GET", "/api/v1/events", params=params, headers=headers) as resp:
            assert resp.status_code == 200, resp.read()
            assert resp.headers["content-type"].startswith("text/event-stream")
            frame: dict[str, Any] = {}
            for line in resp.iter_lines():
                if time.monotonic() > deadline:
                    raise AssertionError(f"the stream did not show what was expected in {timeout}s: "
                                         f"{[(e['event'], e['id']) for e in got]}")
                if line == "":
                    if "data" in frame:
                        got.append({"id": int(frame["id"]), "event": frame["event"],
                                    "data": json.loads(frame["data"])})
                    frame = {}
                    if until(got):
                        return got
                elif line.startswith(":"):
                    if comments is not None:
                        comments.append(line)
                else:
                    key, _, value = line.partition(":")
                    frame[key] = value[1:] if value.startswith(" ") else value
    raise AssertionError(f"the stream ended early: {got}")


def _completed(order_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda got: any(e["event"] == "ProductOrderStateChangeEvent"
                           and e["data"]["order"] == order_id and e["data"]["to"] == "completed"
                           for e in got)


def test_the_stream_shows_an_orders_events_in_order_and_resumes_after_the_last_one_seen(fast_server):
    server = fast_server
    order_id = server.post_order().json()["id"]

    seen = read_stream(server, _completed(order_id), {"order": order_id})

    ids = [e["id"] for e in seen]
    assert ids == sorted(set(ids))  # monotonic, no repeats
    assert seen[0]["event"] == "ProductOrderCreateEvent"
    assert all(e["data"]["order"] == order_id and e["data"]["sequence"] == e["id"]
               and e["data"]["type"] == e["event"] for e in seen)
    changes = [(e["data"]["from"], e["data"]["to"]) for e in seen if e["event"] == "ProductOrderStateChangeEvent"]
    assert changes == [("acknowledged", "inProgress"), ("inProgress", "completed")]
    history = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
    assert ids == [e["sequence"] for e in history if "sequence" in e][:len(ids)]

    # a client that reconnects says what it saw last, and gets exactly what came after it
    resumed = read_stream(server, lambda got: len(got) >= len(seen) - 3, {"order": order_id},
                          headers={"Last-Event-ID": str(seen[2]["id"])})
    assert [e["id"] for e in resumed] == ids[3:]
    again = read_stream(server, lambda got: len(got) >= len(seen) - 5, {"order": order_id, "after": seen[4]["id"]})
    assert [e["id"] for e in again] == ids[5:]


def test_the_stream_filters_by_order_type_and_customer(fast_server):
    server = fast_server
    first = server.post_order(_order("cust-42")).json()["id"]
    second = server.post_order(_order("cust-7")).json()["id"]
    server.wait_for(first)
    server.wait_for(second)

    changes = read_stream(server, _completed(first),
                          {"order": first, "type": "ProductOrderStateChangeEvent,ProductOrderCreateEvent"})
    assert [e["event"] for e in changes] == ["ProductOrderCreateEvent", "ProductOrderStateChangeEvent",
                                                        "ProductOrderStateChangeEvent"]
    assert {e["data"]["order"] for e in changes} == {first}

    theirs = read_stream(server, _completed(second), {"customer": "cust-7", "after": 0})
    assert {e["data"]["order"] for e in theirs} == {second}


def test_the_stream_beats_while_quiet_and_refuses_a_bad_position(fast_server):
    server = fast_server
    comments: list[str] = []
    got = read_stream(server, lambda got: ": heartbeat" in comments, {"order": "no-such-order"},
                      timeout=10, comments=comments)
    assert got == [] and comments[0] == ": ordertower events"

    bad = server.client.get("/api/v1/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "Last-Event-ID"
    assert server.client.get("/api/v1/events", params={"after": "-1"}).json()["errors"][0]["field"] == "after"
    assert server.client.get("/api/v1/events", params={"type": "A,,B"}).json()["errors"][0]["field"] == "type"


def test_a_stream_ends_when_its_client_goes_or_the_server_shuts_down(fast_server):
    server = fast_server
    state = server.app.state
    with httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", "/api/v1/events") as resp:
            assert resp.status_code == 200
            wait_until(lambda: getattr(state, "event_streams", 0) == 1, 10, "the stream to open")
    wait_until(lambda: state.event_streams == 0, 10, "the stream to end after its client left")

    with httpx.Client(base_url=server.url, timeout=10) as client:
        with client.stream("GET", "/api/v1/events") as resp:
            lines = resp.iter_lines()
            assert next(lines).startswith(":")
            started = time.monotonic()
            server.container.begin_shutdown()
            for _ in lines:  # heartbeats until the stream ends
                pass
            assert time.monotonic() - started < 5
    wait_until(lambda: state.event_streams == 0, 10, "the stream to end at shutdown")


def test_the_stream_takes_an_api_key_like_the_rest_of_the_api(server_factory):
    server = server_factory(auth=True, bootstrap_key="test-admin-key", **FAST)
    anonymous = httpx.get(f"{server.url}/api/v1/events", timeout=10)
    assert anonymous.status_code == 401
    comments: list[str] = []  # the server's client sends the key
    read_stream(server, lambda got: bool(comments), timeout=10, comments=comments)
    # the history names who placed an order: the key's name
    order_id = server.post_order().json()["id"]
    first = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"][0]
    assert (first["type"], first["actor"]) == ("ProductOrderCreateEvent", "bootstrap")


# --- hubs ----------------------------------------------------------------------------------

def _expected(server, order_ids: list[str], api: str = PRODUCT_ORDERING) -> dict[str, list[str]]:
    """Per order, the eventIds a listener of everything must get, in outbox order."""
    kinds = kinds_for(api)
    with server.container.store.read() as uow:
        rows = uow.conn.execute(sa.select(events.c.event_id, events.c.order_id, events.c.type, events.c.payload)
                                .where(events.c.order_id.in_(order_ids), events.c.type.in_(kinds))
                                .order_by(events.c.id)).all()
    from ordertower.domain.notifications import tmf_mapping

    out: dict[str, list[str]] = {o: [] for o in order_ids}
    for row in rows:
        if tmf_mapping(row.type, row.payload):
            out[row.order_id].append(row.event_id)
    return out


def _received(listener: Listener, order_id: str) -> list[str]:
    """eventIds received for the order, first arrivals only (at least once: repeats allowed)."""
    return list(dict.fromkeys(e["eventId"] for e in listener.events(order_id)))


def test_a_listener_hears_an_order_through_completion_in_order_with_tmf_fields(fast_server):
    server = fast_server
    everything, changes = Listener().start(), Listener().start()
    try:
        created = server.client.post(HUB, json={"callback": everything.url})
        assert created.status_code == 201
        hub = created.json()
        assert hub["id"] and hub["callback"] == everything.url and hub.get("query") is None
        assert created.headers["location"].endswith(f"/hub/{hub['id']}")
        filtered = server.client.post(HUB, json={"callback": changes.url,
                                                 "query": "eventType=ProductOrderStateChangeEvent"})
        assert filtered.status_code == 201
        assert filtered.json()["query"] == "eventType=ProductOrderStateChangeEvent"

        order_id = server.post_order().json()["id"]
        server.wait_for(order_id)
        everything.wait_for(lambda got: len(got) == 3)
        changes.wait_for(lambda got: len(got) == 2)

        assert [e["eventId"] for e in everything.events()] == _expected(server, [order_id])[order_id]
        assert [(e["eventType"], e["event"]["productOrder"]["state"]) for e in everything.events()] == [
            ("ProductOrderCreateEvent", "acknowledged"), ("ProductOrderStateChangeEvent", "inProgress"),
            ("ProductOrderStateChangeEvent", "completed")]
        assert [e["event"]["productOrder"]["state"] for e in changes.events()] == ["inProgress", "completed"]
        first = everything.events()[0]
        assert set(first) >= {"eventId", "eventTime", "eventType", "event"}
        assert datetime.fromisoformat(first["eventTime"].replace("Z", "+00:00"))
        order = first["event"]["productOrder"]
        assert order["id"] == order_id and order["href"].endswith(f"/productOrder/{order_id}")
        assert order["externalId"] == "seed-0001" and order["@type"] == "ProductOrder"
        assert [i["id"] for i in order["productOrderItem"]] == ["1", "2"]
        assert changes.events()[-1]["description"] == "every plan item is done"

        # the cursor moves once the listener's 2xx is back: a moment after it has the event
        shown = wait_until(lambda: (lambda h: h if h["delivered"] == 3 else None)(
            server.client.get(f"{HUB}/{hub['id']}").json()), 10, "the cursor to pass the third event")
        assert (shown["status"], shown["backlog"], shown["delivered"]) == ("active", 0, 3)
        assert [h["id"] for h in server.client.get(HUB).json()] == [hub["id"], filtered.json()["id"]]

        # unregistered: nothing more reaches it (the other listener shows the dispatcher went on)
        assert server.client.delete(f"{HUB}/{hub['id']}").status_code == 204
        assert server.client.get(f"{HUB}/{hub['id']}").status_code == 404
        later = server.post_order().json()["id"]
        server.wait_for(later)
        changes.wait_for(lambda got: len(got) == 4)
        assert len(everything.events()) == 3
    finally:
        everything.stop()
        changes.stop()


def test_an_inventory_listener_hears_the_products_an_order_creates(fast_server):
    server = fast_server
    listener = Listener().start()
    try:
        assert server.client.post(INVENTORY_HUB, json={"callback": listener.url,
                                                       "query": "eventType=ProductCreateEvent"}).status_code == 201
        order_id = server.post_order().json()["id"]
        server.wait_for(order_id)
        got = listener.wait_for(lambda got: len(got) == 2)
        assert {e["eventType"] for e in got} == {"ProductCreateEvent"}
        products = {e["event"]["product"]["productOffering"]["id"]: e["event"]["product"] for e in got}
        assert set(products) == {"phone", "mobile-plan"}
        assert all(p["status"] == "active" and p["productOrderItem"][0]["productOrderId"] == order_id
                   for p in products.values())
    finally:
        listener.stop()


BAD_HUBS = [
    ({"callback": "ftp://example.net/x"}, "callback"),
    ({"callback": "not a url"}, "callback"),
    ({"query": "eventType=ProductOrderStateChangeEvent"}, "callback"),
    ({"callback": "http://127.0.0.1:9/x", "query": "eventType=NoSuchEvent"}, "query"),
    ({"callback": "http://127.0.0.1:9/x", "query": "state=completed"}, "query"),
    ({"callback": "http://127.0.0.1:9/x", "query": "eventType=ProductOrderCreateEvent"}, "query", INVENTORY_HUB),
    (["http://127.0.0.1:9/x"], "body"),
]


def test_bad_hub_input_is_refused_naming_the_field_and_nothing_is_stored(fast_server):
    server = fast_server
    for body, field, *hub in BAD_HUBS:
        resp = server.client.post(hub[0] if hub else HUB, json=body)
        assert resp.status_code == 400, (body, resp.text)
        assert [e["field"] for e in resp.json()["errors"]] == [field], body
    assert server.client.post(HUB, content=b"{not json", headers={"content-type": "application/json"}
                              ).status_code == 400
    assert server.client.get(HUB).json() == [] and server.client.get(INVENTORY_HUB).json() == []
    assert server.client.delete(f"{HUB}/no-such-hub").status_code == 404
    assert server.client.get(f"{HUB}/no-such-hub").status_code == 404


def test_a_listener_that_is_down_keeps_its_backlog_is_marked_failing_and_catches_up(server_factory):
    server = server_factory(hub_failing_after_attempts=3, **FAST)
    listener = Listener(status=503).start()
    try:
        hub = server.client.post(HUB, json={"callback": listener.url}).json()
        order_id = server.post_order().json()["id"]
        server.wait_for(order_id)

        shown = wait_until(lambda: (lambda h: h if h["status"] == "failing" else None)(
            server.client.get(f"{HUB}/{hub['id']}").json()), 20, "the listener to be marked failing")
        assert shown["failures"] >= 3 and "503" in shown["lastError"] and shown["failingSince"]
        # the order's events: created, inProgress, completed, and on a slow machine a change
        # of the order's jeopardy (the sweep judged it late while it ran)
        owed = _expected(server, [order_id])[order_id]
        assert len(owed) >= 3
        assert shown["backlog"] == len(owed) and shown["delivered"] == 0
        assert listener.events() == [] and listener.refused >= 3

        listener.status = 200  # back up: everything arrives, in order
        listener.wait_for(lambda got: len(got) == len(owed))
        assert _received(listener, order_id) == owed
        shown = wait_until(lambda: (lambda h: h if h["status"] == "active" and h["backlog"] == 0 else None)(
            server.client.get(f"{HUB}/{hub['id']}").json()), 10, "the listener to be active and caught up")
        assert (shown["backlog"], shown["failures"], shown["delivered"]) == (0, 0, len(owed))
    finally:
        listener.stop()


def test_a_listener_that_is_not_listening_gets_everything_once_it_listens(fast_server):
    server = fast_server
    listener = Listener()  # not started: connections are refused
    hub = server.client.post(HUB, json={"callback": listener.url}).json()
    orders = [server.post_order().json()["id"] for _ in range(2)]
    for order_id in orders:
        server.wait_for(order_id)
    shown = wait_until(lambda: (lambda h: h if h["failures"] >= 2 else None)(
        server.client.get(f"{HUB}/{hub['id']}").json()), 20, "failed tries")
    assert shown["status"] == "active" and shown["backlog"] == 6 and shown["lastError"]

    listener.start()
    try:
        listener.wait_for(lambda got: len({e["eventId"] for e in got}) == 6)
        expected = _expected(server, orders)
        assert {o: _received(listener, o) for o in orders} == expected
    finally:
        listener.stop()


# --- any number of dispatchers, and one that died --------------------------------------------

def test_two_dispatchers_deliver_every_event_at_least_once_in_order_per_order(server_factory):
    first = server_factory(**FAST)
    second = server_factory(**FAST)
    listener = Listener().start()
    try:
        assert first.client.post(HUB, json={"callback": listener.url}).status_code == 201
        orders = [(first if n % 2 else second).post_order().json()["id"] for n in range(4)]
        first.stop()  # one dispatcher goes away mid-stream: the other carries on
        orders += [second.post_order().json()["id"] for _ in range(2)]
        for order_id in orders:
            second.wait_for(order_id)
        expected = _expected(second, orders)
        listener.wait_for(lambda got: {e["eventId"] for e in got} >= {i for ids in expected.values() for i in ids},
                          timeout=30, what="every event")
        # every event, each first arrival in the order of its order's events
        assert {o: _received(listener, o) for o in orders} == expected
    finally:
        listener.stop()


def test_a_dispatcher_that_claimed_a_listener_and_died_is_taken_over_when_its_lease_expires(fast_server):
    server = fast_server
    listener = Listener().start()
    try:
        hub = server.client.post(HUB, json={"callback": listener.url}).json()
        store = server.container.store
        with store.uow() as uow:  # claimed by a dispatcher that then died (kill -9)
            uow.conn.execute(event_subscriptions.update().where(event_subscriptions.c.id == hub["id"]).values(
                lease_owner="dead-dispatcher", lease_until=datetime.now(timezone.utc) + timedelta(hours=1)))
            uow.commit()
        order_id = server.post_order().json()["id"]
        server.wait_for(order_id)
        dispatcher = server.container.dispatcher
        top = _top_event_id(store)
        wait_until(lambda: server.container.dispatcher.feed.horizon() >= top, 10, "the feed to reach the order")
        cycles = dispatcher.cycles
        wait_until(lambda: dispatcher.cycles >= cycles + 5, 10, "dispatcher cycles")
        assert listener.events() == []  # held by the dead dispatcher's lease

        with store.uow() as uow:  # ... until it expires
            uow.conn.execute(event_subscriptions.update().where(event_subscriptions.c.id == hub["id"])
                             .values(lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
            uow.commit()
        listener.wait_for(lambda got: len(got) == 3)
        assert _received(listener, order_id) == _expected(server, [order_id])[order_id]
    finally:
        listener.stop()


def _top_event_id(store) -> int:
    with store.read() as uow:
        return uow.conn.execute(sa.select(sa.func.max(events.c.id))).scalar_one()


# --- the outbox is read without skipping an event committed late ------------------------------

def _insert_event(conn, order_id: str = "o") -> None:
    conn.execute(events.insert().values(event_id=str(uuid.uuid4()), type="TestEvent", order_id=order_id,
                                        payload={}, occurred_at=datetime.now(timezone.utc)))


def test_the_feed_never_reads_past_an_event_still_being_committed(database_url):
    from ordertower.adapters.store.migrate import upgrade

    engine = create_db_engine(database_url)
    upgrade(engine)
    feed = EventFeed(engine, hole_grace_seconds=0)
    try:
        assert feed.horizon() == 0
        if engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                _insert_event(conn)
            assert feed.horizon() == 1
            return
        slow = engine.connect()
        slow_tx = slow.begin()
        _insert_event(slow)  # id 1, not committed yet
        with engine.begin() as conn:
            _insert_event(conn)  # id 2, committed first
        assert feed.horizon() == 0 and feed.read(0, feed.horizon()) == []
        slow_tx.commit()
        slow.close()
        assert wait_until(lambda: feed.horizon() == 2, 5, "the horizon to move on")
        assert [r["id"] for r in feed.read(0, 2)] == [1, 2]

        rolled_back = engine.connect()
        tx = rolled_back.begin()
        _insert_event(rolled_back)  # id 3: never committed
        tx.rollback()
        rolled_back.close()
        with engine.begin() as conn:
            _insert_event(conn)  # id 4
        assert wait_until(lambda: feed.horizon() == 4, 5, "the horizon to step over a rolled-back id")
        assert [r["id"] for r in feed.read(2, 4)] == [4]
    finally:
        engine.dispose()


# --- the history: one timeline, each entry naming who did it ----------------------------------

def test_the_history_is_one_timeline_of_transitions_attempts_and_operator_actions_with_actors(engine):
    from ..support.engine import order_body

    engine.set_simulator("network", failure_rate=1.0)
    order_id = engine.place(order_body(("1", "gadget", {"via": "once"})))
    engine.settle()
    engine.set_simulator("network", failure_rate=0.0)
    item = engine.item(order_id, "call")
    assert item["state"] == "fallout"
    engine.api("POST", f"/api/v1/plan-items/{item['id']}/retry", json={"reason": "network fixed", "actor": "olga"})
    engine.settle()
    assert engine.order(order_id)["state"] == "completed"

    history = engine.history(order_id)
    assert all(e["at"] and e["actor"] for e in history)
    assert history[0]["type"] == "ProductOrderCreateEvent" and history[0]["actor"] == "client"
    mine = [e for e in history if e.get("item") == item["id"]]
    assert [(e["type"], e.get("to") or e.get("outcome") or e.get("action"), e["actor"]) for e in mine] == [
        ("PlanItemStateChangeEvent", "running", "test-worker"),
        ("PlanItemAttempt", "retryable", "test-worker"),
        ("PlanItemStateChangeEvent", "fallout", "ordertower"),
        ("PlanItemStateChangeEvent", "ready", "olga"),
        ("OperatorActionEvent", "retry", "olga"),
        ("PlanItemStateChangeEvent", "running", "test-worker"),
        ("PlanItemAttempt", "ok", "test-worker"),
        ("PlanItemStateChangeEvent", "completed", "ordertower")]
    attempts = [e for e in mine if e["type"] == "PlanItemAttempt"]
    assert [a["attempt"] for a in attempts] == [1, 2] and attempts[0]["status_code"] == 503
    orders = [(e["from"], e["to"], e["actor"]) for e in history if e["type"] == "ProductOrderStateChangeEvent"]
    assert orders == [("acknowledged", "inProgress", "ordertower"), ("inProgress", "held", "ordertower"),
                      ("held", "inProgress", "ordertower"), ("inProgress", "completed", "ordertower")]
