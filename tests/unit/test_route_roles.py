"""The route table: every route of the app (each one of the OpenAPI document, and the routes
outside it) has its least role in ``route_roles.ROUTE_ROLES``; an app with a route missing from
it refuses to start; docs/security.md shows the same table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter

from ordertower.config import Settings
from ordertower.domain.roles import ROLES
from ordertower.entrypoints.api.route_roles import (OPEN, ROUTE_ROLES, RouteFinder, RouteMissing,
                                                    least_role, routes_of)

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from ordertower.bootstrap import bootstrap
    from ordertower.entrypoints.api.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('roles')}/o.db"
    container = bootstrap(Settings(database_url=url, workers=0))
    yield create_app(container, start_workers=False)
    container.store.engine.dispose()


def test_every_route_of_the_openapi_document_has_a_least_role(app):
    documented = [(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops]
    assert documented, "the OpenAPI document lists routes"
    assert [r for r in documented if least_role(*r) is None] == []
    assert {least_role(*r) for r in documented} <= {OPEN, *ROLES}


def test_every_route_of_the_app_has_a_least_role_and_the_table_names_no_other(app):
    routes = set(routes_of(app.routes))
    assert [r for r in routes if least_role(*r) is None] == []
    assert set(ROUTE_ROLES) - routes == set(), "no line for a route that does not exist"


def test_an_app_with_a_route_missing_from_the_table_refuses_to_start(tmp_path, monkeypatch):
    from ordertower.bootstrap import bootstrap
    from ordertower.entrypoints.api import app as app_module

    extra = APIRouter()

    @extra.get("/api/v1/not-in-the-table")
    def unlisted() -> dict:
        return {}

    original = app_module.health.router
    combined = APIRouter()
    combined.include_router(original)
    combined.include_router(extra)
    monkeypatch.setattr(app_module.health, "router", combined)
    container = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/o.db", workers=0))
    try:
        with pytest.raises(RouteMissing, match="GET /api/v1/not-in-the-table"):
            app_module.create_app(container, start_workers=False)
    finally:
        container.store.engine.dispose()


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/api/v1/plan-items/i-1/attempts", ("GET", "/api/v1/plan-items/{item_id}/attempts")),
    ("POST", "/api/v1/plan-items/i-1/retry", ("POST", "/api/v1/plan-items/{item_id}/retry")),
    ("HEAD", "/health", ("GET", "/health")),
    ("PUT", "/simulators/network", ("PUT", "/simulators/{system}")),
    ("POST", "/simulators/network/activations", ("*", "/simulators/{system}/{path:path}")),
    ("GET", "/healthz", None),
    ("DELETE", "/api/v1/orders/o-1/plan", None),
])
def test_a_request_is_matched_to_the_route_that_serves_it(app, method, path, expected):
    assert RouteFinder(app.routes).find(method, path) == expected


def _documented_table() -> dict[tuple[str, str], str]:
    rows = {}
    for line in SECURITY_DOC.read_text().splitlines():
        found = re.match(r"^\| `(GET|POST|PUT|PATCH|DELETE|\*)` \| `([^`]+)` \| (\w+) \|", line)
        if found:
            rows[(found.group(1), found.group(2))] = found.group(3)
    return rows


def test_docs_security_shows_the_route_table_of_the_code():
    assert _documented_table() == ROUTE_ROLES
