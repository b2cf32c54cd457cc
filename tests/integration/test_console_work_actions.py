"""The console's work-page actions over HTTP, on SQLite and PostgreSQL, with access control
on: each is the API's use case, recorded as the logged-in key, refused below its role (403,
nothing changed) and without the session's CSRF token; edit-and-retry sends the edited body."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from ordertower.domain.ids import new_id
from ordertower.services.access import key_hash

from ..support.live import ORDERS
from ..support.waiting import wait_until

ADMIN_KEY = "otk_console_work_actions_admin"
CONSOLE_CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "console"


class Browser:
    """A logged-in console session (cookie) and its CSRF token, as a browser holds them."""

    def __init__(self, server, key: str):
        self.client = httpx.Client(base_url=server.url, timeout=30)
        form = self.client.get("/console/login")
        resp = self.client.post("/console/login", data={"key": key, "csrf_token": self._token(form.text)})
        assert resp.status_code == 303, resp.text
        self.csrf = self._token(self.client.get("/console/orders").text)

    @staticmethod
    def _token(html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, data: dict | list, csrf: bool = True) -> httpx.Response:
        fields: dict[str, list[str]] = {}
        for name, value in (data.items() if isinstance(data, dict) else data):
            fields.setdefault(name, []).append(value)
        if csrf:
            fields["csrf_token"] = [self.csrf]
        return self.client.post(path, data=fields)


@pytest.fixture
def world(server_factory):
    server = server_factory(auth=True, bootstrap_key=ADMIN_KEY, catalog_path=str(CONSOLE_CATALOG))
    keys = {role: f"otk_console_{role}_key" for role in ("viewer", "agent", "operator")}
    with server.container.store.uow() as uow:  # keys of each role (as `ordertower keys create` makes them)
        for role, key in keys.items():
            uow.keys.add(new_id(), f"{role}-pat", key_hash(key), role, uow.clock.now())
        uow.people.add_member("install", "agent-pat", "test", uow.clock.now())  # the agent installs
        uow.commit()
    browsers = {role: Browser(server, key) for role, key in keys.items()}
    yield server, browsers
    for browser in browsers.values():
        browser.client.close()


def _order(server, offering: str, **attrs) -> str:
    body = {"relatedParty": [{"id": "cust-9", "role": "customer"}],
            "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": offering},
                                  "product": {"productCharacteristic": [{"name": k, "value": v}
                                                                        for k, v in attrs.items()]}}]}
    resp = server.client.post(ORDERS, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _fallout(server) -> tuple[str, str]:
    server.set_simulator("network", fail_next=1)
    order_id = _order(server, "gadget", colour="red")
    server.wait_for(order_id, {"held"})
    return order_id, server.client.get("/api/v1/fallout").json()["items"][0]["id"]


def test_bulk_retry_needs_an_operator_and_the_csrf_token(world):
    server, browsers = world
    order_id, item_id = _fallout(server)

    for role in ("viewer", "agent"):
        refused = browsers[role].post("/console/fallout/actions", [("action", "retry"), ("items", item_id)])
        assert refused.status_code == 403 and "operator" in refused.text
    no_token = browsers["operator"].post("/console/fallout/actions", [("action", "retry"), ("items", item_id)],
                                         csrf=False)
    assert no_token.status_code == 403
    assert server.order(order_id)["state"] == "held"

    done = browsers["operator"].post("/console/fallout/actions",
                                     [("action", "retry"), ("items", item_id), ("reason", "fixed")])
    assert done.status_code == 303 and "done=1" in done.headers["location"]
    assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    actions = [e for e in server.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
               if e["type"] == "OperatorActionEvent"]
    assert [(a["actor"], a["reason"]) for a in actions] == [("operator-pat", "fixed")]


def test_edit_and_retry_sends_the_edited_body_and_bad_json_changes_nothing(world):
    server, browsers = world
    order_id, item_id = _fallout(server)
    operator = browsers["operator"]
    assert '&#34;colour&#34;: &#34;red&#34;' in operator.get(f"/console/fallout/{item_id}/edit").text

    bad = operator.post(f"/console/fallout/{item_id}/retry", {"body": "{not json"})
    assert bad.status_code == 400 and "request.body" in bad.text
    assert server.order(order_id)["state"] == "held"

    done = operator.post(f"/console/fallout/{item_id}/retry", {"body": '{"colour": "blue"}'})
    assert done.status_code == 303 and done.headers["location"] == f"/console/orders/{order_id}"
    assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    sent = [r["body"] for r in server.simulator("network")["requests"] if r["path"].endswith("/calls")]
    assert sent == [{"colour": "red"}, {"colour": "blue"}]


def test_an_agent_claims_and_completes_its_task_but_not_someone_elses_and_a_viewer_neither(world):
    server, browsers = world
    order_id = _order(server, "fiber", speed=100)
    task = wait_until(lambda: next(iter(server.client.get("/api/v1/tasks").json()), None), what="the task")

    assert browsers["viewer"].post(f"/console/tasks/{task['id']}/claim", {}).status_code == 403
    assert browsers["agent"].post(f"/console/tasks/{task['id']}/claim", {}).status_code == 303
    taken = browsers["operator"].post(f"/console/tasks/{task['id']}/complete", {"field.technician": "x"})
    assert taken.status_code == 403  # claimed by agent-pat: only they complete it (an operator reassigns)

    form = browsers["agent"].get(f"/console/tasks/{task['id']}").text
    assert 'name="field.installed_on" type="date"' in form and 'name="field.technician" type="text"' in form
    bad = browsers["agent"].post(f"/console/tasks/{task['id']}/complete",
                                 {"field.technician": "Pat", "field.installed_on": "tomorrow"})
    assert bad.status_code == 400
    assert "expected a date (YYYY-MM-DD), got &#39;tomorrow&#39;" in bad.text
    done = browsers["agent"].post(f"/console/tasks/{task['id']}/complete",
                                  {"field.technician": "Pat", "field.installed_on": "2026-12-02",
                                   "field.signal_db": "", "field.outcome": "done"})
    assert done.status_code == 303
    assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    completed = server.client.get(f"/api/v1/tasks/{task['id']}").json()
    assert completed["completed_by"] == "agent-pat"
    assert completed["output"] == {"technician": "Pat", "installed_on": "2026-12-02", "outcome": "done"}


def test_taking_a_system_offline_needs_an_operator_and_shows_on_the_page(world):
    server, browsers = world
    assert browsers["agent"].post("/console/systems/network/offline", {}).status_code == 403
    assert browsers["operator"].post("/console/systems/nope/offline", {}).status_code == 404

    done = browsers["operator"].post("/console/systems/network/offline", {"reason": "maintenance"})
    assert done.status_code == 303
    order_id = _order(server, "gadget")
    wait_until(lambda: server.plan(order_id)["items"][0]["state"] == "onHold", what="the call on hold")
    page = browsers["viewer"].get("/console/systems").text
    assert 'data-offline="true"' in page and 'data-count-onhold="1"' in page and "maintenance" in page
    assert "Take offline" not in page and "Bring online" not in page  # a viewer sees no action

    assert browsers["operator"].post("/console/systems/network/online", {}).status_code == 303
    assert server.wait_for(order_id, {"completed"})["state"] == "completed"
    assert 'data-attempts="1"' in browsers["viewer"].get("/console/systems").text


def test_an_agent_outside_the_tasks_queue_gets_no_claim_button_and_is_refused(world):
    server, browsers = world
    with server.container.store.uow() as uow:
        uow.people.remove_member("install", "agent-pat", uow.clock.now())
        uow.commit()
    _order(server, "fiber", speed=100)
    task = wait_until(lambda: next(iter(server.client.get("/api/v1/tasks").json()), None), what="the task")

    page = browsers["agent"].get(f"/console/tasks/{task['id']}").text
    refused = browsers["agent"].post(f"/console/tasks/{task['id']}/claim", {})
    by_operator = browsers["operator"].post(f"/console/tasks/{task['id']}/claim", {})

    assert f'action="/console/tasks/{task["id"]}/claim"' not in page
    assert refused.status_code == 403 and "not a member of queue" in refused.text
    assert by_operator.status_code == 303  # operators work every queue
    assert server.client.get(f"/api/v1/tasks/{task['id']}").json()["assignee"] == "operator-pat"
