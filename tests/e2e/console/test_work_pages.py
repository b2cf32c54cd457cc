"""The console's work pages in a browser (Playwright driving Debian's Chromium) against a
live server with access control on, logged in as an admin: fallout is bulk-retried and its
order completes; a manual task is claimed and completed from its form (a bad field is shown
beside it) and its order moves on; a system taken offline holds its items and runs them when
brought online again. A screenshot of each test's last page is kept (console fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.live import ORDERS, start_server
from tests.support.waiting import wait_until

from .conftest import ADMIN_KEY

CONSOLE_CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "catalogs" / "console"


@pytest.fixture
def console_server(tmp_path):
    """A live ordertower of the console's world (tests/fixtures/catalogs/console)."""
    server = start_server(f"sqlite:///{tmp_path}/console.db", auth=True, bootstrap_key=ADMIN_KEY,
                          catalog_path=str(CONSOLE_CATALOG))
    yield server
    server.stop()


def _order(*items: tuple[str, dict]) -> dict:
    return {"relatedParty": [{"id": "cust-7", "role": "customer"}],
            "productOrderItem": [{"id": str(n), "action": "add", "productOffering": {"id": offering},
                                  "product": {"productCharacteristic": [{"name": k, "value": v}
                                                                        for k, v in attrs.items()]}}
                                 for n, (offering, attrs) in enumerate(items, 1)]}


def _place(server, body: dict) -> str:
    resp = server.client.post(ORDERS, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _items(server, order_id: str) -> dict[str, dict]:
    return {i["key"].rsplit("#", 1)[-1]: i for i in server.plan(order_id)["items"]}


def test_a_fallout_item_is_bulk_retried_from_the_fallout_page_and_its_order_completes(console):
    server = console.server
    server.set_simulator("network", fail_next=1)  # the gadget's call fails once: no retry left
    failed = _place(server, _order(("gadget", {"colour": "red"})))
    server.wait_for(failed, {"held"})

    page = console.open("/console/fallout")
    row = page.locator(f"tr[data-order='{failed}']")
    assert "network answered 503" in row.inner_text()
    assert page.locator("table.fallout-groups tr[data-group-count='1']").count() == 1
    row.locator("input[type=checkbox][name=items]").check()
    page.fill("input[name=reason]", "network fixed")
    page.click("button[name=action][value=retry]")

    page.wait_for_selector("p.notice[data-done='1']")
    assert server.wait_for(failed, {"completed"})["state"] == "completed"
    audit = server.client.get(f"/api/v1/orders/{failed}/history").json()["events"]
    assert any(e["type"] == "OperatorActionEvent" for e in audit)
    page.reload()
    assert page.locator(f"tr[data-order='{failed}']").count() == 0
    assert console.csp_violations() == []


def test_a_manual_task_is_claimed_and_completed_from_its_form_and_its_order_moves_on(console):
    server = console.server
    order_id = _place(server, _order(("fiber", {"speed": 500})))
    task = wait_until(lambda: next(iter(server.client.get("/api/v1/tasks").json()), None),
                      what="the install task")

    page = console.open("/console/tasks")
    page.locator(f"tr[data-task='{task['id']}'] button", has_text="Claim").click()
    page.wait_for_url(f"{server.url}/console/tasks/{task['id']}")
    assert page.locator("[data-task-state]").inner_text() == "claimed"
    page.fill("[name='field.signal_db']", "loud")  # technician and installed_on left blank
    page.click("button[type=submit]:has-text('Complete the task')")

    assert page.locator("[data-field=technician] .field-error").inner_text() == "required"
    assert page.locator("[data-field=installed_on] .field-error").inner_text() == "required"
    assert "expected a number" in page.locator("[data-field=signal_db] .field-error").inner_text()
    assert _items(server, order_id)["install"]["state"] == "waiting"  # nothing changed

    page.fill("[name='field.technician']", "Ann Smith")
    page.fill("[name='field.installed_on']", "2026-12-01")
    page.fill("[name='field.signal_db']", "-18.5")
    page.click("button[type=submit]:has-text('Complete the task')")

    page.wait_for_url(f"{server.url}/console/orders/{order_id}")
    assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    install = _items(server, order_id)["install"]
    assert install["state"] == "completed"
    done = server.client.get(f"/api/v1/tasks/{task['id']}").json()
    assert done["completed_by"] == "bootstrap"  # the logged-in key's name
    assert done["output"] == {"technician": "Ann Smith", "installed_on": "2026-12-01", "signal_db": -18.5,
                              "outcome": "done"}


def test_a_system_taken_offline_holds_its_items_and_runs_them_when_back_online(console):
    server = console.server
    page = console.open("/console/systems")
    row = page.locator("tr[data-system='network']")
    row.locator("input[name=reason]").fill("maintenance window")
    row.locator("button", has_text="Take offline").click()
    page.wait_for_selector("tr[data-system='network'][data-offline='true']")
    assert "maintenance window" in page.locator("tr[data-system='network']").inner_text()

    orders = [_place(server, _order(("gadget", {}))) for _ in range(2)]
    wait_until(lambda: all(_items(server, o)["call"]["state"] == "onHold" for o in orders),
               what="the calls on hold")
    page.wait_for_selector("tr[data-system='network'] [data-count-onhold='2']")  # live, no reload
    assert server.simulator("network")["requests"] == []

    page.locator("tr[data-system='network'] button", has_text="Bring online").click()
    page.wait_for_selector("tr[data-system='network'][data-offline='false']")
    for order_id in orders:
        assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    assert {_items(server, o)["call"]["attempts"] for o in orders} == {1}
    page.wait_for_selector("tr[data-system='network'] td[data-attempts='2']")  # live, no reload
    assert console.csp_violations() == []
