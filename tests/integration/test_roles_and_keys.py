"""Roles and keys: every route of the app (the OpenAPI document's and the rest: metrics, docs,
simulators) answers each role as ``route_roles.ROUTE_ROLES`` says, keys are created, listed and
revoked through the API (a revoked key is refused by its very next request, no restart), an
agent works only its own tasks, and the CLI manages keys. On SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
from typer.testing import CliRunner

from ordertower.domain.roles import ROLES, at_least
from ordertower.entrypoints.api.route_roles import CONSOLE, OPEN, least_role, routes_of
from ordertower.entrypoints.cli import app as cli
from ordertower.services.access import create_key
from tests.support.live import ORDERS, SEED_ORDER

ADMIN_KEY = "roles-admin-key"
runner = CliRunner()


@pytest.fixture
def secured(server_factory):
    return server_factory(auth=True, bootstrap_key=ADMIN_KEY, start_workers=False)


@pytest.fixture
def keys(secured) -> dict[str, str]:
    """One key of each role (made through the use case the API calls)."""
    return {role: create_key(secured.container.store, {"name": f"{role}-1", "role": role},
                             "test")["key"] for role in ROLES}


def client(server, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, timeout=30, headers=headers)


def concrete(template: str) -> str:
    """A path of the template with every parameter filled (ids that do not exist)."""
    return re.sub(r"\{[^}]+\}", "nothing-here", template)


def status_of(c: httpx.Client, method: str, path: str) -> int:
    """The status only (a stream such as /api/v1/events is closed once it has answered)."""
    body = {} if method in ("POST", "PUT", "PATCH") else None
    with c.stream(method, path, json=body) as resp:
        return resp.status_code


def test_every_route_answers_every_role_as_the_route_table_says(secured, keys):
    routes = routes_of(secured.app.routes)
    openapi = {(m.upper(), p) for p, ops in secured.app.openapi()["paths"].items() for m in ops}
    assert openapi <= set(routes), "the walk covers the whole OpenAPI document"
    callers = {None: client(secured), **{role: client(secured, keys[role]) for role in ROLES}}
    wrong = []
    try:
        for method, template in routes:
            method = "POST" if method == "*" else method
            least = least_role(method, template)
            if least == CONSOLE:
                continue  # the console's own session: tests/integration/test_console_access.py
            path = concrete(template)
            for role, c in callers.items():
                got = status_of(c, method, path)
                if least == OPEN or (role is not None and at_least(role, least)):
                    ok = got not in (401, 403) and got < 500
                else:
                    ok = got == (401 if role is None else 403)
                if not ok:
                    wrong.append((method, template, role or "no key", least, got))
                if least == OPEN:
                    break  # one anonymous call says it all
    finally:
        for c in callers.values():
            c.close()
    assert wrong == [], wrong


def test_a_refused_role_gets_a_problem_naming_the_role_it_needs(secured, keys):
    with client(secured, keys["viewer"]) as viewer:
        resp = viewer.post(ORDERS, json=SEED_ORDER)

    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/json;charset=utf-8"  # a TMF route: TMF Error
    problem = resp.json()
    assert problem["@type"] == "Error" and problem["code"] == "forbidden" and problem["status"] == "403"
    assert "'agent'" in problem["message"] and "'viewer'" in problem["message"]
    assert problem["errors"][0]["field"] == "Authorization"
    with secured.container.store.read() as uow:
        assert uow.orders.list({}, 0, 10)[1] == 0, "nothing was placed"


# --- keys ------------------------------------------------------------------------------------

def test_an_admin_creates_a_key_shown_once_and_listed_without_it(secured):
    with client(secured, ADMIN_KEY) as admin:
        created = admin.post("/api/v1/keys", json={"name": "crm", "role": "agent"})
        listed = admin.get("/api/v1/keys")

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "crm" and body["role"] == "agent" and body["key"]
    assert created.headers["cache-control"] == "no-store"
    assert listed.status_code == 200
    rows = {k["name"]: k for k in listed.json()}
    assert set(rows) == {"bootstrap", "crm"}
    assert rows["crm"]["id"] == body["id"] and rows["crm"]["revoked_at"] is None
    assert body["key"] not in listed.text
    assert all(set(k) == {"id", "name", "role", "created_at", "revoked_at"} for k in listed.json())
    with client(secured, body["key"]) as crm:
        assert crm.post(ORDERS, json=SEED_ORDER).status_code == 201


@pytest.mark.parametrize("body,fields", [
    ({"name": "x", "role": "root"}, ["role"]),
    ({"role": "viewer"}, ["name"]),
    ({"name": "", "role": "viewer", "scope": "all"}, ["name", "scope"]),
    (["name"], ["body"]),
])
def test_a_bad_key_request_is_refused_naming_the_field_and_creates_nothing(secured, body, fields):
    with client(secured, ADMIN_KEY) as admin:
        resp = admin.post("/api/v1/keys", json=body)
        listed = admin.get("/api/v1/keys").json()

    assert resp.status_code == 400, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == fields
    assert [k["name"] for k in listed] == ["bootstrap"]


def test_a_second_live_key_of_the_same_name_is_refused(secured):
    with client(secured, ADMIN_KEY) as admin:
        assert admin.post("/api/v1/keys", json={"name": "crm", "role": "agent"}).status_code == 201
        again = admin.post("/api/v1/keys", json={"name": "crm", "role": "viewer"})

    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "name"


def test_a_revoked_key_is_refused_by_its_next_request_without_a_restart(secured):
    """The defect: the identity of a key was cached in the process forever."""
    with client(secured, ADMIN_KEY) as admin:
        created = admin.post("/api/v1/keys", json={"name": "leaver", "role": "operator"}).json()
    with client(secured, created["key"]) as leaver:
        assert leaver.get(ORDERS).status_code == 200  # known (and, before, cached) by now
        with client(secured, ADMIN_KEY) as admin:
            revoked = admin.delete(f"/api/v1/keys/{created['id']}")
            again = admin.delete(f"/api/v1/keys/{created['id']}")
        after = leaver.get(ORDERS)

    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert again.status_code == 409
    assert after.status_code == 401
    assert after.json()["errors"][0]["message"] == "unknown or revoked key"


def test_a_revocation_on_one_node_is_seen_at_once_by_another(server_factory):
    """Two API nodes on one database: a key revoked through one is refused by the other."""
    first = server_factory(auth=True, bootstrap_key=ADMIN_KEY, start_workers=False)
    second = server_factory(auth=True, bootstrap_key=ADMIN_KEY, start_workers=False)
    with client(first, ADMIN_KEY) as admin:
        created = admin.post("/api/v1/keys", json={"name": "shared", "role": "viewer"}).json()
    with client(second, created["key"]) as on_second:
        assert on_second.get(ORDERS).status_code == 200
        with client(first, ADMIN_KEY) as admin:
            assert admin.delete(f"/api/v1/keys/{created['id']}").status_code == 200
        assert on_second.get(ORDERS).status_code == 401


def test_the_last_admin_key_is_not_revoked_until_there_is_another(secured):
    """Revoking the last admin key would leave nobody able to create or revoke keys (only a
    restart with a bootstrap key would let anyone in again)."""
    with client(secured, ADMIN_KEY) as admin:
        [mine] = [k for k in admin.get("/api/v1/keys").json() if k["role"] == "admin"]
        refused = admin.delete(f"/api/v1/keys/{mine['id']}")
        still = admin.get("/api/v1/keys")
        deputy = admin.post("/api/v1/keys", json={"name": "deputy", "role": "admin"}).json()
    with client(secured, deputy["key"]) as second:
        revoked = second.delete(f"/api/v1/keys/{mine['id']}")
        last = second.delete(f"/api/v1/keys/{deputy['id']}")

    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["field"] == "id"
    assert "last admin key" in refused.json()["detail"]
    assert still.status_code == 200  # the key still works: nothing was revoked
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert last.status_code == 409  # now the deputy is the last one


def test_revoking_an_unknown_key_is_404(secured):
    with client(secured, ADMIN_KEY) as admin:
        resp = admin.delete("/api/v1/keys/no-such-key")
    assert resp.status_code == 404


# --- tasks: who acts is the key's user, never a name in the body -----------------------------

def test_a_claim_naming_someone_in_the_body_is_refused_and_reassigning_needs_an_operator(secured, keys):
    with client(secured, keys["agent"]) as agent:
        naming = agent.post("/api/v1/tasks/t-1/claim", json={"assignee": "somebody-else"})
        as_itself = agent.post("/api/v1/tasks/t-1/claim")
        reassigning = agent.post("/api/v1/tasks/t-1/reassign", json={"user": "somebody-else"})
    with client(secured, keys["operator"]) as operator:
        by_operator = operator.post("/api/v1/tasks/t-1/reassign", json={"user": "somebody-else"})

    assert naming.status_code == 400, naming.text
    assert naming.json()["errors"][0]["field"] == "assignee"
    assert as_itself.status_code == 404  # allowed; there is no such task
    assert reassigning.status_code == 403 and "'operator'" in reassigning.json()["detail"]
    assert by_operator.status_code == 404


# --- the command line -----------------------------------------------------------------------

def test_keys_are_created_listed_and_revoked_from_the_command_line(secured):
    common = ["--url", secured.url, "--key", ADMIN_KEY]
    created = runner.invoke(cli, ["keys", "create", "night-shift", "--role", "operator", *common])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    with client(secured, key) as night:
        assert night.get("/api/v1/fallout").status_code == 200

    listed = runner.invoke(cli, ["keys", "list", "--json", *common])
    assert listed.exit_code == 0, listed.output
    assert key not in listed.output
    import json
    rows = {k["name"]: k for k in json.loads(listed.output)}
    assert rows["night-shift"]["role"] == "operator"

    revoked = runner.invoke(cli, ["keys", "revoke", rows["night-shift"]["id"], *common])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.output
    with client(secured, key) as night:
        assert night.get("/api/v1/fallout").status_code == 401

    refused = runner.invoke(cli, ["keys", "create", "x", "--role", "viewer", "--url", secured.url,
                                  "--key", key])
    assert refused.exit_code == 1
    assert "401" in refused.output
