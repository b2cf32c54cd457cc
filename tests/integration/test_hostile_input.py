"""Hostile input found by an adversarial tester (issue 14): values that look like numbers,
timestamps or durations but that Python cannot hold. Each used to answer 500; each is now a
4xx naming the field, and stores nothing. On SQLite and on PostgreSQL.

Under ``/tmf-api/`` the refusal is a TMF630 ``Error``; elsewhere RFC 9457 problem JSON. Both
carry ``errors`` naming each bad field.
"""

from __future__ import annotations

import copy

import httpx
import pytest
import sqlalchemy as sa

from ordertower.adapters.store.tables import metadata
from tests.support.live import ORDERS, SEED_ORDER, start_server

PRODUCTS = "/tmf-api/productInventory/v4/product"
CANCELS = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
SUPERSCRIPT_TWO = "\u00b2"  # '²'.isdigit() is True, int('²') raises
ARABIC_INDIC_THREE = "\u0663"  # int('٣') == 3: a digit, but not an ASCII one
LAST_INSTANT_WEST = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
FIRST_INSTANT_EAST = "0001-01-01T00:00:00+14:00"  # year 0 in UTC


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile')}/ordertower.db"
    else:
        url = request.getfixturevalue("pg_database_url")
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        engine.dispose()
    server = start_server(url, start_workers=False)
    yield server
    server.stop()


def refused(resp: httpx.Response, field: str) -> dict:
    """A 4xx (never a 5xx) whose body names ``field``, as TMF Error or problem JSON."""
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    fields = [e["field"] for e in body.get("errors", [])]
    assert field in fields, f"expected an error naming {field!r}, got {body}"
    if resp.request.url.path.startswith("/tmf-api/"):
        assert body["@type"] == "Error" and body["status"] == str(resp.status_code), body
        assert resp.headers["content-type"].startswith("application/json")
    else:
        assert body["status"] == resp.status_code, body
        assert resp.headers["content-type"] == "application/problem+json"
    return body


def nothing_stored(server) -> None:
    listing = server.client.get(ORDERS)
    assert listing.status_code == 200 and listing.json() == [], listing.text
    with server.container.store.read() as uow:
        assert uow.events.after(0) == []


@pytest.mark.parametrize("path", [ORDERS, CANCELS, PRODUCTS])
@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_INDIC_THREE])
def test_a_paging_number_written_with_non_ascii_digits_is_refused_naming_it(server, path, name, digit):
    refused(server.client.get(path, params={name: digit}), name)


@pytest.mark.parametrize("field", ["requestedStartDate", "requestedCompletionDate"])
@pytest.mark.parametrize("instant", [LAST_INSTANT_WEST, FIRST_INSTANT_EAST])
def test_an_order_date_outside_the_calendar_once_in_utc_is_refused_and_nothing_is_stored(
        server, field, instant):
    body = copy.deepcopy(SEED_ORDER) | {field: instant}
    refused(server.post_order(body), field)
    nothing_stored(server)


def test_a_fallout_age_of_a_million_years_is_refused_naming_older_than(server):
    refused(server.client.get("/api/v1/fallout", params={"older_than": "999999999d"}), "older_than")


def test_a_bulk_fallout_action_over_a_million_years_is_refused_naming_the_filter(server):
    resp = server.client.post("/api/v1/fallout/actions",
                              json={"action": "retry", "filter": {"older_than": "999999999d"}})
    refused(resp, "filter.older_than")


@pytest.mark.parametrize("digit", [SUPERSCRIPT_TWO, ARABIC_INDIC_THREE])
def test_a_simulator_request_limit_with_non_ascii_digits_is_refused_naming_limit(server, digit):
    refused(server.client.get("/simulators/warehouse", params={"limit": digit}), "limit")
