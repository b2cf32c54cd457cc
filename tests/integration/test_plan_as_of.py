"""The plan as it stood at a past moment (GET /api/v1/orders/{id}/plan?at=...), rebuilt from
the event log, equals what the plan showed at that moment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..support.catalogs import fast_retries, write_catalog
from ..support.waiting import wait_until


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _states(plan: dict) -> dict[str, str]:
    return {i["id"]: i["state"] for i in plan["items"]}


def test_the_plan_at_each_past_moment_shows_the_states_the_items_had_then(server_factory, tmp_path):
    catalog = write_catalog(tmp_path / "catalog", lambda docs: fast_retries(docs, max_attempts=2))
    server = server_factory(catalog_path=str(catalog))
    server.set_simulator("network", failure_rate=1.0)  # the activation falls out
    server.set_simulator("warehouse", latency_ms=150)
    order_id = server.post_order().json()["id"]

    snapshots: list[tuple[datetime, dict[str, str], datetime]] = []

    def snapshot() -> dict:
        before = _now()
        plan = server.plan(order_id)
        snapshots.append((before, _states(plan), _now()))
        return plan

    wait_until(lambda: snapshot()["state"] == "held", timeout=60, what="the order held", poll=0.03)
    [fallen] = [i for i in snapshot()["items"] if i["state"] == "fallout"]
    server.set_simulator("network", failure_rate=0.0)
    server.client.post(f"/api/v1/plan-items/{fallen['id']}/retry").raise_for_status()
    wait_until(lambda: snapshot()["state"] == "completed", timeout=60, what="the order completed",
               poll=0.03)

    # A snapshot is what one read saw at some instant between its request and its answer (an
    # event stamped just before the request may commit just after it): it must equal the plan
    # at one of the moments around the events of that window.
    history = server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
    event_times = sorted({datetime.fromisoformat(e["at"].replace("Z", "+00:00")) + timedelta(milliseconds=1)
                          for e in history if e["type"] != "PlanItemAttempt"})
    asked: dict[datetime, dict[str, str]] = {}

    def plan_at(moment: datetime) -> dict[str, str]:
        if moment not in asked:
            resp = server.client.get(f"/api/v1/orders/{order_id}/plan", params={"at": _iso(moment)})
            assert resp.status_code == 200, resp.text
            asked[moment] = _states(resp.json())
        return asked[moment]

    # Two transactions of one order (two items recorded side by side) stamp their events when
    # they start and commit in either order, so a read may see the later-stamped one first: each
    # item's state, not the whole plan, is what it had at one of the moments of the window.
    for before, seen, after in snapshots:
        window = [before - timedelta(seconds=2)] + \
                 [t for t in event_times if before - timedelta(seconds=2) <= t <= after] + [after]
        candidates = [plan_at(m) for m in window if m <= _now()]
        for item_id, state in seen.items():
            assert state in {c.get(item_id) for c in candidates}, (before, item_id, seen, candidates)

    # the order went through a fallout and a retry, and the past plans show it
    seen_states = [s for _, s, _ in snapshots]
    assert any(s[fallen["id"]] == "fallout" for s in seen_states)
    assert seen_states[-1][fallen["id"]] == "completed"
    assert len({tuple(sorted(s.items())) for s in seen_states}) >= 4
    during_fallout = next(b for b, s, a in snapshots if s[fallen["id"]] == "fallout")
    assert plan_at(during_fallout)[fallen["id"]] in ("fallout", "running", "retrying")
    assert plan_at(_now())  == _states(server.plan(order_id))


def test_before_the_order_existed_the_plan_is_empty_and_a_bad_moment_is_refused(server):
    before = _now() - timedelta(seconds=1)
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)

    empty = server.client.get(f"/api/v1/orders/{order_id}/plan", params={"at": _iso(before)})
    assert empty.status_code == 200
    assert empty.json() == {"order": order_id, "at": _iso(before), "state": None, "revision": None,
                            "items": []}
    offset = server.client.get(f"/api/v1/orders/{order_id}/plan",
                               params={"at": (_now()).astimezone(timezone(timedelta(hours=2))).isoformat()})
    assert offset.status_code == 200 and offset.json()["state"] == "completed"
    for bad in ("yesterday", "2026-01-01", "2026-01-01T10:00:00", "2026-13-01T10:00:00Z",
                (_now() + timedelta(hours=1)).isoformat()):
        resp = server.client.get(f"/api/v1/orders/{order_id}/plan", params={"at": bad})
        assert resp.status_code == 400, bad
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in resp.json()["errors"]] == ["at"]
    unknown = server.client.get("/api/v1/orders/no-such-order/plan", params={"at": _iso(before)})
    assert unknown.status_code == 404
