"""People, on SQLite and PostgreSQL, through the API with access control on: a task is claimed
and completed by the user of the caller's key (never a name in the body), members of its queue
may claim it, queue membership is data that takes effect at once, an operator reassigns and
releases, a task has a due time, and a task withdrawn from under its claimer tells them.

The team: ann (agent, a member of ``install`` from the catalog), bob (agent, no queue at first),
olga (operator, no queue: operators work every queue)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ordertower.services.people import seed_queue_members

from ..support.engine import order_body
from ..support.people import ORDERS, Team


@pytest.fixture
def team(database_url):
    team = Team(database_url)
    team.add_user("ann", "agent", ["install"])
    team.add_user("bob", "agent")
    team.add_user("olga", "operator")
    yield team
    team.close()


def _complete(team, who, task_id, **body):
    output = {"technician": who, "installed_on": "2026-12-01"}
    return team.as_(who, "POST", f"/api/v1/tasks/{task_id}/complete", json={"output": output, **body})


def test_a_task_is_claimed_and_completed_by_the_keys_user_and_nobody_else_completes_it(team):
    order_id = team.fiber()
    task = team.task(order_id)
    assert (task["queue"], task["state"], task["assignee"]) == ("install", "open", "ann")  # offered

    not_member = team.as_("bob", "POST", f"/api/v1/tasks/{task['id']}/claim")
    claimed = team.as_("ann", "POST", f"/api/v1/tasks/{task['id']}/claim")
    by_operator = _complete(team, "olga", task["id"])
    by_other_agent = _complete(team, "bob", task["id"])
    naming_someone = _complete(team, "ann", task["id"], by="olga")

    assert not_member.status_code == 403, not_member.text
    assert not_member.headers["content-type"].startswith("application/problem+json")
    assert not_member.json()["errors"][0]["field"] == "queue"
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "ann"
    for refused in (by_operator, by_other_agent):
        assert refused.status_code == 403, refused.text
        assert "claimed by ann; only they complete it" in refused.json()["detail"]
    assert naming_someone.status_code == 400
    assert naming_someone.json()["errors"] == [{"field": "by", "message": "not accepted: who acts is the caller's key"}]
    assert team.world.item(order_id, "install")["state"] == "waiting"  # the refusals changed nothing

    done = _complete(team, "ann", task["id"])
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["completed_by"]) == ("completed", "ann")
    team.world.settle()
    assert team.world.order(order_id)["state"] == "completed"
    assert [e["actor"] for e in team.audit("TaskClaimEvent", order=order_id)] == ["ann"]
    assert [e["actor"] for e in team.audit("TaskCompleteEvent", order=order_id)] == ["ann"]


def test_a_member_added_through_the_api_claims_at_once_and_one_removed_no_longer_can(team):
    removed = team.as_("olga", "DELETE", "/api/v1/queues/install/members/ann")
    assert removed.status_code == 200, removed.text
    first, second = team.fiber(customer="c-1"), team.fiber(customer="c-2")
    task1, task2 = team.task(first), team.task(second)
    assert task1["assignee"] is None  # the queue has no member left to offer it to
    refused = team.as_("bob", "POST", f"/api/v1/tasks/{task1['id']}/claim")

    added = team.as_("olga", "POST", "/api/v1/queues/install/members", json={"user": "bob"})
    claimed = team.as_("bob", "POST", f"/api/v1/tasks/{task1['id']}/claim")  # no restart, at once
    by_former_member = team.as_("ann", "POST", f"/api/v1/tasks/{task2['id']}/claim")

    assert refused.status_code == 403
    assert added.status_code == 201, added.text
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "bob"
    assert by_former_member.status_code == 403
    queues = {q["id"]: [m["user"] for m in q["members"]]
              for q in team.as_("bob", "GET", "/api/v1/queues").json()}
    assert queues["install"] == ["bob"] and queues["network-desk"] == [] and "fallout" in queues
    assert team.as_("bob", "GET", "/api/v1/users/me").json()["queues"] == ["install"]
    assert team.as_("bob", "POST", "/api/v1/queues/install/members", json={"user": "bob"}).status_code == 403
    assert team.as_("olga", "POST", "/api/v1/queues/nope/members", json={"user": "bob"}).status_code == 404
    unknown = team.as_("olga", "POST", "/api/v1/queues/install/members", json={"user": "zed"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "user"
    # a start seeds the catalog's members again, but one removed through the API stays removed
    seed_queue_members(team.world.container.store, team.world.container.catalog.catalog.work_queues)
    users = {u["name"]: u["queues"] for u in team.as_("olga", "GET", "/api/v1/users").json()}
    assert users["ann"] == [] and users["bob"] == ["install"] and users["olga"] == []
    members = [(e["actor"], e["details"]["queue"], e["details"]["user"])
               for e in team.audit("QueueMemberAddEvent") + team.audit("QueueMemberRemoveEvent")]
    assert ("olga", "install", "bob") in members and ("olga", "install", "ann") in members


def test_an_operator_reassigns_a_task_and_the_claimer_or_an_operator_releases_it(team):
    order_id = team.fiber()
    task = team.task(order_id)
    team.as_("ann", "POST", f"/api/v1/tasks/{task['id']}/claim")

    by_agent = team.as_("ann", "POST", f"/api/v1/tasks/{task['id']}/reassign", json={"user": "bob"})
    to_non_member = team.as_("olga", "POST", f"/api/v1/tasks/{task['id']}/reassign", json={"user": "bob"})
    release_by_other = team.as_("bob", "POST", f"/api/v1/tasks/{task['id']}/release")
    team.as_("olga", "POST", "/api/v1/queues/install/members", json={"user": "bob"})
    reassigned = team.as_("olga", "POST", f"/api/v1/tasks/{task['id']}/reassign",
                          json={"user": "bob", "reason": "ann is off sick"})
    by_former_holder = _complete(team, "ann", task["id"])

    assert by_agent.status_code == 403
    assert to_non_member.status_code == 400 and "not a member of queue 'install'" in to_non_member.json()["detail"]
    assert release_by_other.status_code == 403
    assert reassigned.status_code == 200, reassigned.text
    assert (reassigned.json()["state"], reassigned.json()["assignee"]) == ("claimed", "bob")
    assert reassigned.json()["notes"][-1]["text"] == "reassigned by olga from ann to bob: ann is off sick"
    assert by_former_holder.status_code == 403

    released = team.as_("bob", "POST", f"/api/v1/tasks/{task['id']}/release", json={"reason": "no van"})
    assert released.status_code == 200
    assert (released.json()["state"], released.json()["assignee"]) == ("open", None)
    assert team.as_("ann", "POST", f"/api/v1/tasks/{task['id']}/claim").json()["assignee"] == "ann"
    by_operator = team.as_("olga", "POST", f"/api/v1/tasks/{task['id']}/release")
    assert by_operator.status_code == 200 and by_operator.json()["state"] == "open"
    notes = [n["text"] for n in team.as_("bob", "GET", f"/api/v1/tasks/{task['id']}").json()["notes"]]
    assert notes == ["reassigned by olga from ann to bob: ann is off sick",
                     "released by bob (was claimed by bob): no van",
                     "released by olga (was claimed by ann)"]
    assert [e["actor"] for e in team.audit("TaskReassignEvent", order=order_id)] == ["olga"]
    assert sorted(e["actor"] for e in team.audit("TaskReleaseEvent", order=order_id)) == ["bob", "olga"]


def test_a_task_is_due_after_its_items_expected_duration_or_when_an_operator_says(team):
    order_id = team.fiber()
    task = team.task(order_id)
    created = task["created_at"]

    assert task["due_at"] is not None and task["overdue"] is False
    assert datetime.fromisoformat(task["due_at"]) - datetime.fromisoformat(created) == timedelta(hours=2)
    team.world.advance(hours=3)
    assert team.as_("ann", "GET", f"/api/v1/tasks/{task['id']}").json()["overdue"] is True

    by_agent = team.as_("ann", "PUT", f"/api/v1/tasks/{task['id']}/due", json={"due_at": "2030-01-01T00:00:00Z"})
    bad = team.as_("olga", "PUT", f"/api/v1/tasks/{task['id']}/due", json={"due_at": "tomorrow"})
    moved = team.as_("olga", "PUT", f"/api/v1/tasks/{task['id']}/due", json={"due_at": "2030-01-01T00:00:00Z"})

    assert by_agent.status_code == 403
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "due_at"
    assert moved.status_code == 200
    assert moved.json()["due_at"].startswith("2030-01-01T00:00:00") and moved.json()["overdue"] is False


def test_a_claimed_task_withdrawn_by_an_amendment_tells_its_claimer_and_stays_with_them(team):
    team.as_("olga", "POST", "/api/v1/queues/install/members", json={"user": "bob"})
    order_id = team.fiber(speed=500)
    old = team.task(order_id)
    assert old["assignee"] == "ann"
    team.as_("ann", "POST", f"/api/v1/tasks/{old['id']}/claim")

    amended = team.world.api("PATCH", f"{ORDERS}/{order_id}",
                             json={"productOrderItem": order_body(("1", "fiber", {"speed": 1000}))["productOrderItem"]})
    assert amended.status_code == 200, amended.text
    team.world.settle()

    withdrawn = team.as_("ann", "GET", f"/api/v1/tasks/{old['id']}").json()
    assert withdrawn["state"] == "cancelled"
    assert withdrawn["notes"][-1]["text"] == "withdrawn (revision 2) while claimed by ann"
    [event] = team.audit("TaskWithdrawnEvent", order=order_id)
    assert (event["details"]["task"], event["details"]["assignee"], event["details"]["claimed"]) == (old["id"], "ann", True)
    # round-robin would offer the next task to bob: the new one stays with ann, and says so
    new = team.task(order_id, "claimed")
    assert new["id"] != old["id"] and new["assignee"] == "ann"
    assert new["notes"][0]["text"] == (f"replaces task {old['id']}, withdrawn by a revision while ann held it: "
                                       "claimed for ann again")

    cancelled = team.world.api("POST", f"/api/v1/orders/{order_id}/cancel", json={"reason": "moved"})
    assert cancelled.status_code == 200, cancelled.text
    gone = team.as_("ann", "GET", f"/api/v1/tasks/{new['id']}").json()
    assert gone["state"] == "cancelled" and gone["notes"][-1]["text"].startswith("withdrawn (order cancelled: moved")
    assert [e["details"]["task"] for e in team.audit("TaskWithdrawnEvent", order=order_id)] == [new["id"], old["id"]]
