"""A manual task's declared fields, on SQLite and PostgreSQL: the task carries them (its
form), and completing it checks the output against them: bad input is refused naming each
field and changes nothing; good input is typed, defaults filled in, and the order moves on."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.engine import EngineHarness, order_body

CONSOLE_CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "console"


@pytest.fixture
def world(database_url):
    harness = EngineHarness(database_url, catalog=CONSOLE_CATALOG)
    yield harness
    harness.close()


def _install_task(world) -> tuple[str, dict]:
    order_id = world.place(order_body(("1", "fiber", {"speed": 500})))
    world.settle()
    [task] = world.api("GET", "/api/v1/tasks", params={"queue": "install"}).json()
    return order_id, task


def test_a_task_carries_the_fields_its_item_declares(world):
    _, task = _install_task(world)

    assert task["state"] == "open" and task["assignee"] is None
    assert task["data"]["fields"] == [
        {"name": "technician", "type": "string", "required": True, "description": "who installed it"},
        {"name": "installed_on", "type": "date", "required": True},
        {"name": "signal_db", "type": "decimal", "required": False},
        {"name": "outcome", "type": "enum", "required": False, "default": "done", "values": ["done", "no-access"]}]


def test_completing_a_task_with_bad_fields_names_each_and_changes_nothing(world):
    order_id, task = _install_task(world)

    resp = world.api("POST", f"/api/v1/tasks/{task['id']}/complete",
                     json={"output": {"installed_on": "31/12/2026", "signal_db": "loud",
                                                   "outcome": "maybe"}})

    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert {e["field"]: e["message"] for e in resp.json()["errors"]} == {
        "output.technician": "required",
        "output.installed_on": "expected a date (YYYY-MM-DD), got '31/12/2026'",
        "output.signal_db": "expected a number, got 'loud'",
        "output.outcome": "expected one of done, no-access; got 'maybe'"}
    assert world.api("GET", f"/api/v1/tasks/{task['id']}").json()["state"] == "open"
    assert world.item(order_id, "install")["state"] == "waiting"


def test_completing_a_task_types_its_fields_fills_defaults_and_the_order_moves_on(world):
    order_id, task = _install_task(world)

    resp = world.api("POST", f"/api/v1/tasks/{task['id']}/complete",
                     json={"output": {"technician": "Ann", "installed_on": "2026-12-01",
                                                   "signal_db": "-18.5", "note": "kept"}})

    assert resp.status_code == 200, resp.text
    output = {"technician": "Ann", "installed_on": "2026-12-01", "signal_db": -18.5, "outcome": "done",
              "note": "kept"}
    assert resp.json()["output"] == output
    assert world.item(order_id, "install")["output"] == output
    world.settle()
    assert world.order(order_id)["state"] == "completed"


def test_fields_are_only_for_manual_items_and_declared_once():
    from pydantic import ValidationError

    from ordertower.domain.catalog import ScenarioItem

    with pytest.raises(ValidationError, match="'fields' are for manual items"):
        ScenarioItem(id="call", type="callout", system="network", request={"path": "/x"},
                     fields=[{"name": "a"}])
    with pytest.raises(ValidationError, match="declared twice"):
        ScenarioItem(id="do", type="manual", queue="q", fields=[{"name": "a"}, {"name": "a", "type": "integer"}])
