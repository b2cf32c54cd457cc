"""Fallout work, on SQLite and PostgreSQL, through the API with access control on: items in
fallout are assigned to a user or a queue by rule (rules are data) and by hand, acted on in
bulk (complete, assign), a cancellation that discards fallout leaves a "resolve fallout" task,
and every action is in the audit log with its user.

The team: olga (operator), otto (operator, a member of ``network-desk``), vic (viewer)."""

from __future__ import annotations

import pytest

from ..support.people import Team

FALLOUT = "/api/v1/fallout"


@pytest.fixture
def team(database_url):
    team = Team(database_url)
    team.add_user("olga", "operator")
    team.add_user("otto", "operator", ["network-desk"])
    team.add_user("vic", "viewer")
    yield team
    team.close()


def _assigned(team, item_id):
    return next(i for i in team.world.api("GET", FALLOUT).json()["items"] if i["id"] == item_id)["assigned"]


def test_an_item_falling_out_is_assigned_by_the_first_rule_that_matches(team):
    by_viewer = team.as_("vic", "POST", f"{FALLOUT}/rules", json={"system": "network", "user": "otto"})
    bad = team.as_("olga", "POST", f"{FALLOUT}/rules", json={"error": "([", "user": "otto", "colour": "red"})
    to_otto = team.as_("olga", "POST", f"{FALLOUT}/rules", json={"error": "simulated fail_?next", "product": "gadget-call",
                                                                  "user": "otto"})
    to_desk = team.as_("olga", "POST", f"{FALLOUT}/rules", json={"system": "network", "queue": "network-desk"})
    assert by_viewer.status_code == 403
    assert bad.status_code == 400
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["colour", "error"]
    assert to_otto.status_code == 201 and to_desk.status_code == 201, to_desk.text
    assert [r["position"] for r in team.as_("vic", "GET", f"{FALLOUT}/rules").json()] == [1, 2]

    _, gadget_item = team.gadget_in_fallout()  # "network answered 503: ... (simulated fail_next)"
    assigned = _assigned(team, gadget_item)
    assert (assigned["user"], assigned["queue"], assigned["rule"], assigned["by"]) == \
        ("otto", None, to_otto.json()["id"], "engine")

    deleted = team.as_("olga", "DELETE", f"{FALLOUT}/rules/{to_otto.json()['id']}")
    assert deleted.status_code == 200
    second_order, second = team.gadget_in_fallout(customer="cust-3")
    assert (_assigned(team, second)["queue"], _assigned(team, second)["rule"]) == ("network-desk", to_desk.json()["id"])
    [event] = team.audit("FalloutAssignEvent", order=second_order)
    assert event["actor"] == "engine" and event["details"]["rule"] == to_desk.json()["id"]
    assert [e["actor"] for e in team.audit("FalloutRuleCreateEvent")] == ["olga", "olga"]
    assert [e["actor"] for e in team.audit("FalloutRuleDeleteEvent")] == ["olga"]


def test_an_operator_assigns_fallout_by_hand_to_a_user_or_a_queue(team):
    order_id, item_id = team.gadget_in_fallout()

    to_user = team.as_("olga", "POST", f"/api/v1/plan-items/{item_id}/assign", json={"to": {"user": "otto"}})
    assert to_user.status_code == 200, to_user.text
    assert (_assigned(team, item_id)["user"], _assigned(team, item_id)["by"]) == ("otto", "olga")
    to_queue = team.as_("otto", "POST", f"/api/v1/plan-items/{item_id}/assign",
                        json={"to": {"queue": "network-desk"}, "reason": "for the desk"})
    assert to_queue.status_code == 200
    assert (_assigned(team, item_id)["user"], _assigned(team, item_id)["queue"]) == (None, "network-desk")

    for body, field in (({"to": {"user": "zed"}}, "to.user"), ({"to": {"queue": "nope"}}, "to.queue"),
                        ({"to": {"user": "otto", "queue": "network-desk"}}, "to"), ({}, "to")):
        refused = team.as_("olga", "POST", f"/api/v1/plan-items/{item_id}/assign", json=body)
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == field, refused.text
    assert team.as_("vic", "POST", f"/api/v1/plan-items/{item_id}/assign",
                    json={"to": {"user": "otto"}}).status_code == 403
    assert _assigned(team, item_id)["queue"] == "network-desk"  # the refusals changed nothing
    assert [(e["actor"], e["details"]["user"], e["details"]["queue"])
            for e in reversed(team.audit("FalloutAssignEvent", order=order_id))] == [
        ("olga", "otto", None), ("otto", None, "network-desk")]


def test_bulk_assign_and_bulk_complete_act_on_each_item_and_are_audited(team):
    orders = [team.gadget_in_fallout(customer=f"c-{n}") for n in range(3)]
    items = [item for _, item in orders]

    assigned = team.as_("olga", "POST", f"{FALLOUT}/actions",
                        json={"action": "assign", "items": items, "to": {"user": "otto"}})
    assert assigned.status_code == 200, assigned.text
    assert [r["user"] for r in assigned.json()["results"]] == ["otto"] * 3
    assert all(_assigned(team, i)["user"] == "otto" for i in items)

    completed = team.as_("otto", "POST", f"{FALLOUT}/actions",
                         json={"action": "complete", "items": items[:2] + ["no-such-item"],
                               "output": {"done_by_hand": True}, "reason": "called the network team"})
    assert completed.status_code == 200, completed.text
    results = completed.json()["results"]
    assert [r.get("action") for r in results[:2]] == ["complete", "complete"] and "error" in results[2]
    team.world.settle()
    assert [team.world.order(o)["state"] for o, _ in orders] == ["completed", "completed", "held"]
    assert team.world.item(orders[0][0], "call")["output"] == {"done_by_hand": True}
    actions = [e for e in team.audit("OperatorActionEvent") if e["details"]["action"] == "complete"]
    assert sorted(e["item"] for e in actions) == sorted(items[:2]) and {e["actor"] for e in actions} == {"otto"}
    by_filter = team.as_("olga", "POST", f"{FALLOUT}/actions",
                         json={"action": "assign", "filter": {"system": "network"}, "to": {"queue": "network-desk"}})
    assert [r["item"] for r in by_filter.json()["results"]] == [items[2]]
    bad = team.as_("olga", "POST", f"{FALLOUT}/actions", json={"action": "dance", "items": items})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "action"


def test_a_cancelled_order_with_fallout_gets_a_resolve_fallout_task(team):
    order_id, item_id = team.gadget_in_fallout()
    team.as_("olga", "POST", f"/api/v1/plan-items/{item_id}/assign", json={"to": {"queue": "network-desk"}})

    cancelled = team.as_("olga", "POST", f"/api/v1/orders/{order_id}/cancel", json={"reason": "customer left"})
    assert cancelled.status_code == 200, cancelled.text
    team.world.settle()
    assert team.world.order(order_id)["state"] == "cancelled"

    task = team.task(order_id)
    assert (task["kind"], task["queue"], task["state"]) == ("resolve-fallout", "network-desk", "open")
    assert [i["id"] for i in task["data"]["items"]] == [item_id]
    assert task["data"]["items"][0]["system"] == "network" and task["data"]["items"][0]["error"]
    assert team.as_("vic", "POST", f"/api/v1/tasks/{task['id']}/claim").status_code == 403
    assert team.as_("otto", "POST", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    done = team.as_("otto", "POST", f"/api/v1/tasks/{task['id']}/complete",
                    json={"output": {"checked": "nothing half-done on the network"}})
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["completed_by"]) == ("completed", "otto")
    assert [e["actor"] for e in team.audit("TaskCompleteEvent", order=order_id)] == ["otto"]
    created = [e for e in team.audit("TaskCreateEvent", order=order_id) if e["details"].get("kind") == "resolve-fallout"]
    assert len(created) == 1 and created[0]["actor"] == "olga"


def test_fallout_is_assigned_by_rule_and_by_hand_from_the_command_line(server_factory):
    from typer.testing import CliRunner

    from ordertower.entrypoints.cli import app

    from ..support.engine import order_body
    from ..support.people import ADMIN_KEY, PEOPLE_CATALOG

    server = server_factory(catalog_path=str(PEOPLE_CATALOG), auth=True, bootstrap_key=ADMIN_KEY)
    runner = CliRunner()
    env = {"ORDERTOWER_URL": server.url, "COLUMNS": "200", "ORDERTOWER_API_KEY": ADMIN_KEY}
    made = runner.invoke(app, ["keys", "create", "otto", "--role", "operator", "--queue", "network-desk"], env=env)
    assert made.exit_code == 0 and "queues network-desk" in made.output, made.output
    otto = env | {"ORDERTOWER_API_KEY": made.output.strip().splitlines()[-1]}
    rule = runner.invoke(app, ["fallout", "rules", "add", "--product", "gadget-call", "--queue", "network-desk"], env=otto)
    assert rule.exit_code == 0 and "position 1" in rule.output, rule.output

    server.set_simulator("network", fail_next=1)
    order_id = server.post_order(order_body(("1", "gadget", {"colour": "red"}))).json()["id"]
    server.wait_for(order_id, {"held"})
    item_id = server.client.get("/api/v1/fallout").json()["items"][0]["id"]
    by_rule = runner.invoke(app, ["fallout", "list"], env=otto)
    assigned = runner.invoke(app, ["fallout", "assign", item_id, "--user", "otto"], env=otto)
    both = runner.invoke(app, ["fallout", "assign", item_id, "--user", "otto", "--queue", "network-desk"], env=otto)
    completed = runner.invoke(app, ["fallout", "complete", item_id, "--reason", "done on the switch"], env=otto)

    assert by_rule.exit_code == 0 and "queue network-desk" in by_rule.output, by_rule.output
    assert assigned.exit_code == 0 and f"item {item_id}: assigned to otto" in assigned.output
    assert both.exit_code == 2
    assert completed.exit_code == 0 and f"item {item_id}: completed" in completed.output
    assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    actors = {e["actor"] for e in server.client.get("/api/v1/audit", params={"order": order_id}).json()
              if e["action"] in ("FalloutAssignEvent", "OperatorActionEvent")}
    assert actors == {"engine", "otto"}
