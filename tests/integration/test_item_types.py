"""Each plan item type, on a controllable clock: callout (synchronous and asynchronous),
auto, milestone, manual, wait; item conditions; a dependency across orders."""

from __future__ import annotations

from collections import Counter

from ..support.engine import EngineHarness, order_body
from ..support.workload_w import W_CATALOG, w_order

FIBER = ("1", "fiber", {"speed": 500})
TECH_FIBER = ("1", "fiber", {"speed": 1000, "install": "technician"})


def _hold_callbacks(engine) -> None:
    """The field system answers 202 and never calls back by itself: the test plays it."""
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=600_000)
    engine.await_callbacks = False


def _callback_path(engine) -> str:
    request = engine.simulator("field-service")["requests"][-1]
    return "/api/v1" + request["body"]["callback_url"].split("/api/v1", 1)[1]


# --- callouts ----------------------------------------------------------------------------

def test_a_synchronous_callout_completes_with_the_reply_and_maps_outputs_to_the_line(engine):
    _hold_callbacks(engine)
    order_id = engine.place(order_body(FIBER))
    engine.settle()

    reserve = engine.item(order_id, "reserve-port")
    assert reserve["state"] == "completed" and reserve["attempts"] == 1
    port = engine.simulator("network")["requests"][0]
    assert port["path"] == "/ports" and port["body"] == {"speed": 500, "order": order_id}
    line = engine.api("GET", f"/api/v1/orders/{order_id}/decomposition").json()["lines"][0]
    assert line["attributes"]["port_id"] == reserve["output"]["id"]


def test_an_asynchronous_callout_waits_for_its_callback_then_completes(engine):
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=0)
    order_id = engine.place(order_body(FIBER))
    engine.settle()

    activate = engine.item(order_id, "activate")
    assert activate["state"] == "completed"
    history = [(e["from"], e["to"]) for e in engine.history(order_id)
               if e.get("key", "").endswith("#activate") and e["type"] == "PlanItemStateChangeEvent"]
    assert history == [("pending", "ready"), ("ready", "running"), ("running", "waiting"),
                       ("waiting", "completed")]
    request = engine.simulator("field-service")["requests"][0]
    assert request["body"]["callback_url"].startswith("http://ordertower/api/v1/callbacks/")
    assert engine.order(order_id)["state"] == "completed"


def test_interim_callbacks_update_the_line_and_the_final_one_completes_the_item(engine):
    _hold_callbacks(engine)
    order_id = engine.place(order_body(FIBER))
    engine.settle()
    assert engine.item(order_id, "activate")["state"] == "waiting"
    path = _callback_path(engine)

    interim = engine.api("POST", path, json={"status": "inProgress", "attributes": {"status": "splicing"}})
    assert interim.status_code == 200 and interim.json()["state"] == "waiting"
    line = engine.api("GET", f"/api/v1/orders/{order_id}/decomposition").json()["lines"][0]
    assert line["attributes"]["status"] == "splicing"
    assert engine.item(order_id, "activate")["state"] == "waiting"

    final = engine.api("POST", path, json={"status": "completed", "result": {"status": "done"}})
    assert final.status_code == 200 and final.json()["state"] == "completed"
    engine.settle()
    assert engine.order(order_id)["state"] == "completed"


def test_a_failed_final_callback_takes_the_failure_path(engine):
    _hold_callbacks(engine)
    order_id = engine.place(order_body(FIBER))
    engine.settle()

    resp = engine.api("POST", _callback_path(engine), json={"status": "failed", "error": "no fibre at cabinet"})

    assert resp.json()["state"] == "fallout"  # field-service retries nothing
    item = engine.item(order_id, "activate")
    assert item["state"] == "fallout" and item["last_error"] == "no fibre at cabinet"
    assert engine.order(order_id)["state"] == "held"


def test_wrong_reused_and_expired_callback_tokens_are_refused_and_change_nothing(engine):
    _hold_callbacks(engine)
    order_id = engine.place(order_body(FIBER))
    engine.settle()
    path = _callback_path(engine)
    before = engine.history(order_id)

    wrong = engine.api("POST", "/api/v1/callbacks/not-a-token", json={"status": "completed"})
    assert wrong.status_code == 404 and wrong.headers["content-type"] == "application/problem+json"
    bad = engine.api("POST", path, json={"status": "finished"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"
    unknown_attr = engine.api("POST", path, json={"status": "inProgress", "attributes": {"colour": 1}})
    assert unknown_attr.status_code == 400
    assert unknown_attr.json()["errors"][0]["field"] == "attributes.colour"
    assert engine.history(order_id) == before

    engine.advance(minutes=61)  # past the activation's 1h callback time-out
    expired = engine.api("POST", path, json={"status": "completed", "result": {}})
    assert expired.status_code == 410
    assert engine.item(order_id, "activate")["state"] == "waiting"
    engine.step()  # the time-out sweep takes the failure path
    timed_out = engine.item(order_id, "activate")
    assert timed_out["state"] == "fallout" and timed_out["last_error"].startswith("time-out: no callback")

    # a fresh attempt after the operator's retry gets a new URL; the old one is used up
    engine.api("POST", f"/api/v1/plan-items/{timed_out['id']}/retry", json={"reason": "field team back"})
    engine.settle()
    new_path = _callback_path(engine)
    assert new_path != path
    assert engine.api("POST", path, json={"status": "completed"}).status_code == 409
    assert engine.api("POST", new_path, json={"status": "completed", "result": {"status": "done"}}).status_code == 200
    assert engine.api("POST", new_path, json={"status": "completed"}).status_code == 409  # reused


# --- auto, milestone, conditions -----------------------------------------------------------

def test_auto_and_milestone_items_run_in_process(engine):
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=0)
    order_id = engine.place(order_body(FIBER))
    engine.settle()
    items = engine.items(order_id)

    assert items["live"]["type"] == "milestone" and items["live"]["state"] == "completed"
    assert items["assetize/1"]["type"] == "auto" and items["assetize/1"]["state"] == "completed"
    assert items["assetize/1"]["output"] == {"assets": 1}


def test_milestones_freed_by_a_workers_completions_are_reached_in_the_same_cycle_with_their_whole_history(database_url):
    h = EngineHarness(database_url, catalog=W_CATALOG)
    try:
        order_id = h.place(w_order("reached"))
        assert h.step() == 2  # A and B claimed and run; C to F follow in their transaction
        items = h.items(order_id)
        history = h.history(order_id)
        attempts = {step: h.api("GET", f"/api/v1/plan-items/{items[step]['id']}/attempts").json()["attempts"]
                    for step in "abcdef"}
        assert h.step() == 1  # the asset recording: claimed, it completes the order
        final = h.order(order_id)["state"]
    finally:
        h.close()

    assert {step: items[step]["state"] for step in "abcdef"} == dict.fromkeys("abcdef", "completed")
    assert items["assetize/1"]["state"] == "ready"
    for step in "cdef":  # as if claimed and recorded: ready, running, completed; one attempt
        item = items[step]
        changes = [(e["from"], e["to"]) for e in history
                   if e["type"] == "PlanItemStateChangeEvent" and e.get("item") == item["id"]]
        assert changes == [("pending", "ready"), ("ready", "running"), ("running", "completed")], step
        assert item["attempts"] == 1 and item["output"] == {"milestone": step}
        assert item["started_at"] and item["finished_at"]
        assert [(a["attempt"], a["worker"], a["outcome"]) for a in attempts[step]] == [(1, "test-worker", "ok")]
    # E waits for A and D: freed by D, reached after it
    order_of = [e.get("item") for e in history if e.get("to") == "completed"]
    assert order_of.index(items["d"]["id"]) < order_of.index(items["e"]["id"]) < order_of.index(items["f"]["id"])
    assert final == "completed"


def test_an_item_whose_condition_is_false_at_plan_time_is_skipped(engine):
    _hold_callbacks(engine)
    self_install = engine.place(order_body(FIBER))
    technician = engine.place(order_body(TECH_FIBER))

    skipped = engine.item(self_install, "install")
    assert skipped["state"] == "skipped"
    assert skipped["output"] == {"skipped": "condition is false: install = 'technician'"}
    assert engine.item(technician, "install")["state"] == "pending"
    engine.settle()
    # the skipped install holds nothing back
    assert engine.item(self_install, "activate")["state"] == "waiting"


# --- manual tasks ------------------------------------------------------------------------

def test_manual_tasks_are_routed_by_assignment_rules_then_claimed_and_completed(engine):
    _hold_callbacks(engine)
    people = [engine.place(order_body(TECH_FIBER, customer=f"p{n}")) for n in range(4)]
    business = [engine.place(order_body(TECH_FIBER, customer=f"b{n}", customer_type="Organization"))
                for n in range(3)]
    engine.settle()

    tasks = engine.api("GET", "/api/v1/tasks").json()
    by_order = {t["order"]: t for t in tasks}
    assert [by_order[o]["queue"] for o in people] == ["install"] * 4
    # round-robin: each member in turn (the tasks are created as their items finish, in any order)
    assert Counter(by_order[o]["assignee"] for o in people) == {"ann": 2, "bob": 1, "cid": 1}
    assert [by_order[o]["queue"] for o in business] == ["priority-install"] * 3
    assert by_order[business[0]]["routed_by"] == "business-first"
    # least-loaded: the member with the fewest open tasks, ties to the first listed
    assert Counter(by_order[o]["assignee"] for o in business) == {"pat": 2, "quinn": 1}
    assert engine.item(people[0], "install")["state"] == "waiting"

    task = by_order[people[0]]
    # who claims and completes is the caller (tests/integration/test_people.py has two users;
    # this engine answers without keys, as the local admin, who may take a task offered to ann)
    claimed = engine.api("POST", f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.json()["state"] == "claimed"
    named = engine.api("POST", f"/api/v1/tasks/{task['id']}/claim", json={"assignee": "bob"})
    assert named.status_code == 400  # never a name in the body
    done = engine.api("POST", f"/api/v1/tasks/{task['id']}/complete",
                      json={"output": {"splice_box": "SB-7"}})
    assert done.status_code == 200 and done.json()["output"] == {"splice_box": "SB-7"}
    install = engine.item(people[0], "install")
    assert install["state"] == "completed" and install["output"] == {"splice_box": "SB-7"}
    engine.settle()
    assert engine.item(people[0], "activate")["state"] == "waiting"
    assert engine.api("GET", "/api/v1/tasks", params={"queue": "install", "state": "open"}).json()[0]["id"] != task["id"]


def test_a_task_not_done_in_time_falls_out(engine):
    order_id = engine.place(order_body(TECH_FIBER))
    engine.settle()
    engine.advance(days=2, seconds=1)
    engine.step()

    install = engine.item(order_id, "install")
    assert install["state"] == "fallout"
    assert install["last_error"] == "time-out: task not completed within 172800s"
    assert engine.api("GET", "/api/v1/tasks", params={"state": "expired"}).json()[0]["item"] == install["id"]


# --- wait items and dependencies across orders -----------------------------------------------

def test_a_wait_item_completes_when_its_condition_holds(engine):
    _hold_callbacks(engine)
    order_id = engine.place(order_body(FIBER))
    engine.settle()
    engine.api("POST", _callback_path(engine), json={"status": "completed", "result": {"status": "testing"}})
    engine.settle()
    wait = engine.item(order_id, "wait-live")
    assert wait["state"] == "waiting" and wait["last_error"] == "waiting until status = 'done'"

    line_id = engine.api("GET", f"/api/v1/orders/{order_id}/decomposition").json()["lines"][0]["id"]
    assert line_id
    engine.advance(seconds=30)
    engine.settle()
    assert engine.item(order_id, "wait-live")["state"] == "waiting"  # not re-checked before 1m

    # the network reports the line live (an interim reply of another system would do the same)
    with engine.container.store.uow() as uow:
        from ordertower.engine import items
        items.update_line(uow, engine.item(order_id, "wait-live") | {"order_id": order_id, "revision": 1,
                                                                        "line_id": line_id},
                             {"status": "done"})
        uow.commit()
    engine.advance(seconds=31)
    engine.settle()
    assert engine.item(order_id, "wait-live")["state"] == "completed"
    assert engine.order(order_id)["state"] == "completed"


def test_a_wait_that_never_holds_falls_out_at_its_time_out(engine):
    _hold_callbacks(engine)
    order_id = engine.place(order_body(FIBER))
    engine.settle()
    engine.api("POST", _callback_path(engine), json={"status": "completed", "result": {"status": "testing"}})
    engine.settle()
    engine.advance(days=1, minutes=1)
    engine.settle()

    wait = engine.item(order_id, "wait-live")
    assert wait["state"] == "fallout"
    assert wait["last_error"].startswith("time-out: condition not met within 86400s")


def test_an_item_waits_for_a_milestone_of_a_related_order_that_does_not_exist_yet(engine):
    engine.set_simulator("field-service", async_reply=True, async_delay_ms=0)
    tv = engine.place(order_body(("1", "tv", {}), productOrderRelationship=[
        {"id": "fiber-ext-1", "relationshipType": "dependsOn"}]))
    engine.settle()

    waiting = engine.item(tv, "wait-fiber")
    assert waiting["state"] == "waiting"
    assert waiting["last_error"] == "waiting: order fiber-ext-1 does not exist yet"

    fiber = engine.place(order_body(FIBER, externalId="fiber-ext-1"))
    engine.advance(minutes=1)
    engine.settle()
    assert engine.order(fiber)["state"] == "completed"
    assert engine.item(tv, "wait-fiber")["state"] in ("waiting", "completed")
    engine.advance(minutes=1)
    engine.settle()
    assert engine.item(tv, "wait-fiber")["state"] == "completed"
    assert engine.order(tv)["state"] == "completed"
    assert engine.simulator("network")["requests"][-1]["path"] == "/tv"
