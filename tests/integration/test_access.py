"""Access control: clients send ``Authorization: Bearer KEY``; ``ORDERTOWER_BOOTSTRAP_KEY`` is
an admin key; otherwise the first start mints one admin key, shown once. ``/health`` takes no
key (the simulators do: test_simulators_access.py). ``serve --no-auth`` listens on a loopback address only.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ordertower.adapters.store.tables import api_keys
from ordertower.bootstrap import bootstrap
from ordertower.entrypoints.cli import app
from ordertower.services.access import ensure_admin_key, role_of
from tests.support.live import ORDERS, SEED_ORDER, LiveServer, free_port, make_settings

ADMIN_KEY = "test-admin-key"
runner = CliRunner()


@pytest.fixture
def secured(server_factory):
    """A server with access control on and a bootstrap admin key (no workers: access is
    decided before any work is done)."""
    return server_factory(auth=True, bootstrap_key=ADMIN_KEY, start_workers=False)


def anonymous(server, **headers: str) -> httpx.Client:
    """A client that sends only the headers given (the server's own client sends the key)."""
    return httpx.Client(base_url=server.url, timeout=30, headers=headers)


def assert_unauthorized(resp: httpx.Response) -> None:
    """401 naming Authorization: a TMF Error under /tmf-api/, problem JSON elsewhere."""
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"] == "Bearer"
    problem = resp.json()
    if resp.request.url.path.startswith("/tmf-api/"):
        assert resp.headers["content-type"] == "application/json;charset=utf-8"
        assert problem["status"] == "401" and problem["@type"] == "Error"
        assert problem["reason"] and problem["message"] and problem["code"] == "unauthorized"
    else:
        assert resp.headers["content-type"].split(";")[0] == "application/problem+json"
        assert problem["status"] == 401
        assert problem["title"] and problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["Authorization"]


def events_written(server) -> int:
    with server.container.store.read() as uow:
        return len(uow.events.after(0))


def key_rows(store) -> list[dict]:
    with store.read() as uow:
        return [dict(r) for r in uow.conn.execute(sa.select(api_keys)).mappings()]


# --- requests without a good key ----------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("POST", ORDERS),
    ("GET", ORDERS),
    ("GET", f"{ORDERS}/any-id"),
    ("GET", "/tmf-api/productInventory/v4/product"),
    ("GET", "/api/v1/fallout"),
])
def test_a_request_without_a_key_is_refused_with_401_and_a_bearer_challenge(secured, method, path):
    with anonymous(secured) as client:
        resp = client.request(method, path, json=SEED_ORDER if method == "POST" else None)

    assert_unauthorized(resp)
    assert events_written(secured) == 0


@pytest.mark.parametrize("authorization", [
    "Bearer not-the-key",
    f"Bearer {ADMIN_KEY}x",
    f"Basic {ADMIN_KEY}",
    f"{ADMIN_KEY}",
    "Bearer",
    "Bearer  \t x",
])
def test_a_wrong_key_or_scheme_is_refused_with_401(secured, authorization):
    with anonymous(secured, Authorization=authorization) as client:
        resp = client.post(ORDERS, json=SEED_ORDER)

    assert_unauthorized(resp)
    assert events_written(secured) == 0


# --- requests with a good key -------------------------------------------------------------

def test_the_bootstrap_key_places_an_order(secured):
    with anonymous(secured, Authorization=f"Bearer {ADMIN_KEY}") as client:
        created = client.post(ORDERS, json=SEED_ORDER)
        listed = client.get(ORDERS)

    assert created.status_code == 201, created.text
    assert created.json()["state"] == "acknowledged"
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "1"


def test_the_bearer_scheme_name_is_case_insensitive(secured):
    with anonymous(secured, Authorization=f"bearer {ADMIN_KEY}") as client:
        assert client.get(ORDERS).status_code == 200


def test_with_a_good_key_bad_input_gets_its_own_problem_not_an_access_error(secured):
    """With a good key, bad input still gets its own problem, not an access error."""
    with anonymous(secured, Authorization=f"Bearer {ADMIN_KEY}") as client:
        resp = client.post(ORDERS, json={"productOrderItem": []})

    assert resp.status_code == 400
    assert [e["field"] for e in resp.json()["errors"]] == ["productOrderItem"]


@pytest.mark.parametrize("path", ["/health", "/health/live"])
def test_health_needs_no_key(secured, path):
    with anonymous(secured) as client:
        resp = client.get(path)

    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("path", ["/healthz", "/simulators-admin", "/docs-internal"])
def test_a_path_that_only_starts_like_an_open_one_still_needs_a_key(secured, path):
    with anonymous(secured) as client:
        assert_unauthorized(client.get(path))


# --- the first admin key ------------------------------------------------------------------

@pytest.fixture
def container(database_url):
    """An ordertower container with access control on and no bootstrap key: a first start."""
    c = bootstrap(make_settings(database_url, free_port(), auth=True))
    yield c
    c.store.engine.dispose()


def test_a_first_start_without_a_bootstrap_key_mints_one_admin_key_shown_once(container):
    first = ensure_admin_key(container.store, None)
    second = ensure_admin_key(container.store, None)

    assert first
    assert second is None
    rows = key_rows(container.store)
    assert len(rows) == 1
    assert rows[0]["role"] == "admin"
    assert first not in {str(v) for v in rows[0].values()}, "only a hash of the key is stored"
    assert role_of(container.store, first) == "admin"


def test_the_minted_key_works_on_the_api_and_nothing_else_does(container):
    key = ensure_admin_key(container.store, None)
    server = LiveServer(container, container.settings.port, start_workers=False).start()
    try:
        with anonymous(server, Authorization=f"Bearer {key}") as client:
            created = client.post(ORDERS, json=SEED_ORDER)
        with anonymous(server) as client:
            refused = client.post(ORDERS, json=SEED_ORDER)
    finally:
        server.stop()

    assert created.status_code == 201, created.text
    assert_unauthorized(refused)


def test_with_a_bootstrap_key_no_one_time_key_is_minted_then_or_later(container):
    assert ensure_admin_key(container.store, ADMIN_KEY) is None
    assert ensure_admin_key(container.store, ADMIN_KEY) is None  # a restart: still one key
    assert ensure_admin_key(container.store, None) is None  # started later without it

    rows = key_rows(container.store)
    assert len(rows) == 1
    assert role_of(container.store, ADMIN_KEY) == "admin"


# --- the command line -----------------------------------------------------------------------

@pytest.fixture
def no_uvicorn(monkeypatch):
    """``serve`` up to the point where it would listen: records the call instead."""
    from ordertower.entrypoints import processes

    calls: list[dict] = []
    monkeypatch.setattr(processes, "run_server",
                        lambda app, container, host, port: calls.append({"host": host, "port": port}))
    for name in ("ORDERTOWER_BOOTSTRAP_KEY", "ORDERTOWER_NO_AUTH", "ORDERTOWER_DATABASE_URL",
                 "ORDERTOWER_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    return calls


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "ordertower.example.com"])
def test_serve_no_auth_refuses_a_non_loopback_address(no_uvicorn, tmp_path, host):
    result = runner.invoke(app, ["serve", "--no-auth", "--host", host,
                                 "--database", f"sqlite:///{tmp_path}/o.db"])

    assert result.exit_code == 2, result.output
    assert "loopback" in result.output
    assert no_uvicorn == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5"])
def test_the_no_auth_environment_variable_refuses_a_non_loopback_address_too(
        no_uvicorn, monkeypatch, tmp_path, host):
    """ORDERTOWER_NO_AUTH and --no-auth share one check: no key on a public address, ever."""
    monkeypatch.setenv("ORDERTOWER_NO_AUTH", "1")
    result = runner.invoke(app, ["serve", "--host", host, "--database", f"sqlite:///{tmp_path}/o.db"])

    assert result.exit_code == 2, result.output
    assert "loopback" in result.output
    assert no_uvicorn == []


def test_the_no_auth_environment_variable_on_loopback_serves_without_keys(no_uvicorn, monkeypatch,
                                                                            tmp_path):
    monkeypatch.setenv("ORDERTOWER_NO_AUTH", "true")
    result = runner.invoke(app, ["serve", "--host", "127.0.0.1", "--workers", "0",
                                 "--database", f"sqlite:///{tmp_path}/o.db"])

    assert result.exit_code == 0, result.output
    assert [c["host"] for c in no_uvicorn] == ["127.0.0.1"]
    assert "admin API key" not in result.output  # no key minted: access control is off


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_serve_no_auth_listens_on_a_loopback_address(no_uvicorn, tmp_path, host):
    result = runner.invoke(app, ["serve", "--no-auth", "--host", host, "--workers", "0",
                                 "--database", f"sqlite:///{tmp_path}/o.db"])

    assert result.exit_code == 0, result.output
    assert [c["host"] for c in no_uvicorn] == [host]


def test_serve_prints_the_first_admin_key_once(no_uvicorn, tmp_path):
    url = f"sqlite:///{tmp_path}/o.db"
    args = ["serve", "--workers", "0", "--database", url]

    first = runner.invoke(app, args)
    second = runner.invoke(app, args)

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    store = bootstrap(make_settings(url, free_port())).store
    try:
        shown = [t for t in re.split(r"\s+", first.output) if t and role_of(store, t) == "admin"]
        again = [t for t in re.split(r"\s+", second.output) if t and role_of(store, t)]
        assert len(shown) == 1, first.output
        assert again == [], second.output
        assert len(key_rows(store)) == 1
    finally:
        store.engine.dispose()
