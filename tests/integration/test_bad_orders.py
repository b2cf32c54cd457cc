"""Bad input to TMF622 productOrder gets a clear 4xx problem naming the field, and changes
nothing: no order, no event. On SQLite and on PostgreSQL.

Every refusal is a TMF630 ``Error`` as the official TMF622 v4 document declares it
(``application/json;charset=utf-8``; ``@type: Error``, ``code``, ``reason``, ``message``,
``status`` as text, ``referenceError``) with ``errors``, each error naming a ``field`` with its
TMF622 path (``productOrderItem[0].productOffering.id``). Its HTTP status is one the operation
declares: ordertower's 413, 415 and 422 are 400 there (``code`` keeps the precise kind).

Refusals store nothing, so one server per database serves the whole module (started
without workers: validation needs none); a test that does store an order leaves the
database empty again for the next one.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ordertower.adapters.store.tables import metadata
from tests.support.live import ORDERS, SEED_ORDER, start_server

CUSTOMER = [{"id": "cust-42", "role": "customer"}]
MiB = 1024 * 1024


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_server(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bad-orders')}/ordertower.db"
    else:
        url = request.getfixturevalue("pg_database_url")
    server = start_server(url, start_workers=False)
    _empty(server)
    yield server
    server.stop()


@pytest.fixture
def server(module_server):
    """The module's server, with an empty database before and after each test."""
    yield module_server
    _empty(module_server)


def _empty(server) -> None:
    engine = server.container.store.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(sa.delete(table))


# --- how a refusal looks, and what "changes nothing" means ------------------------------

# ordertower's status -> the one POST productOrder declares in the official TMF622 document
TMF_DECLARED = {413: 400, 415: 400, 422: 400}


def assert_problem(resp: httpx.Response, status: int, field: str) -> dict[str, Any]:
    """A TMF Error refusing the request with ordertower's ``status`` (as TMF622 declares it),
    naming ``field``."""
    assert resp.status_code == TMF_DECLARED.get(status, status), resp.text
    assert resp.headers["content-type"] == "application/json;charset=utf-8"
    problem = resp.json()
    assert problem["@type"] == "Error"
    assert problem["status"] == str(resp.status_code)
    assert problem["referenceError"].startswith("https://")
    assert problem["code"] and problem["reason"] and problem["message"]
    fields = [e["field"] for e in problem.get("errors", [])]
    assert field in fields, f"expected an error naming {field!r}, got {problem.get('errors')}"
    assert all(e["message"] for e in problem["errors"])
    return problem


def assert_nothing_stored(server) -> None:
    listing = server.client.get(ORDERS)
    assert listing.status_code == 200
    assert listing.headers["X-Total-Count"] == "0"
    assert listing.json() == []
    with server.container.store.read() as uow:
        assert uow.events.after(0) == []


# --- building bodies ------------------------------------------------------------------

def item(id_: str = "1", offering: str | None = "phone", action: str = "add",
         **characteristics: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": id_, "action": action}
    if offering is not None:
        out["productOffering"] = {"id": offering}
    if characteristics:
        out["product"] = {"productCharacteristic": [{"name": k, "value": v}
                                                    for k, v in characteristics.items()]}
    return out


def order(*items: dict[str, Any], related_party: list | None = None, **extra: Any) -> dict[str, Any]:
    body = {"relatedParty": CUSTOMER if related_party is None else related_party,
            "productOrderItem": list(items), **extra}
    return body


def phone(id_: str = "1", **characteristics: Any) -> dict[str, Any]:
    return item(id_, "phone", **({"model": "Fairphone 5"} | characteristics))


def as_json(body: Any) -> dict[str, Any]:
    return {"json": body}


def raw(content: bytes | str, content_type: str = "application/json") -> dict[str, Any]:
    return {"content": content, "headers": {"Content-Type": content_type}}


def seed_text() -> str:
    return json.dumps(SEED_ORDER)


def chunked(data: bytes, size: int = 64 * 1024):
    """A body sent without Content-Length (Transfer-Encoding: chunked)."""
    def gen():
        for start in range(0, len(data), size):
            yield data[start:start + size]
    return {"content": gen(), "headers": {"Content-Type": "application/json"}}


def oversized_order() -> bytes:
    """Past the limit of an order's body (16 MiB; 10,000 order lines are about 2 MB)."""
    body = copy.deepcopy(SEED_ORDER)
    body["note"] = "x" * (16 * MiB)
    return json.dumps(body).encode()


CH0 = "productOrderItem[0].product.productCharacteristic[0]"

# name, request (kwargs for httpx), expected status, the field the problem names
BAD_ORDERS = [
    ("not JSON", lambda: raw(b'{"productOrderItem": [{"id": "1",'), 400, "body"),
    ("JSON array instead of an object", lambda: as_json([SEED_ORDER]), 400, "body"),
    ("JSON string instead of an object", lambda: as_json("a phone please"), 400, "body"),
    ("JSON null", lambda: raw(b"null"), 400, "body"),
    ("no productOrderItem", lambda: as_json({"relatedParty": CUSTOMER}), 400, "productOrderItem"),
    ("empty item list", lambda: as_json(order()), 400, "productOrderItem"),
    ("item list is an object", lambda: as_json({"relatedParty": CUSTOMER,
                                                "productOrderItem": {"id": "1"}}),
     400, "productOrderItem"),
    ("item without id", lambda: as_json(order({"action": "add", "productOffering": {"id": "phone"},
                                               "product": {"productCharacteristic": [
                                                   {"name": "model", "value": "X"}]}})),
     400, "productOrderItem[0].id"),
    ("item id is a number", lambda: as_json(order(phone() | {"id": 1})), 400, "productOrderItem[0].id"),
    ("item without action", lambda: as_json(order({"id": "1", "productOffering": {"id": "phone"}})),
     400, "productOrderItem[0].action"),
    ("characteristic without name",
     lambda: as_json(order(phone() | {"product": {"productCharacteristic": [{"value": "X"}]}})),
     400, CH0 + ".name"),
    ("unknown offering", lambda: as_json(order(item("1", "tamagotchi"))),
     422, "productOrderItem[0].productOffering.id"),
    ("bad enum value", lambda: as_json(order(item("1", "mobile-plan", tier="gold"))),
     422, CH0 + ".value"),
    ("object for a string attribute", lambda: as_json(order(phone(model={"brand": "Fairphone"}))),
     422, CH0 + ".value"),
    ("list for an enum attribute", lambda: as_json(order(phone("1", color=["black"]))),
     422, "productOrderItem[0].product.productCharacteristic[1].value"),
    ("boolean for a string attribute", lambda: as_json(order(phone(model=True))), 422, CH0 + ".value"),
    ("null for a required attribute", lambda: as_json(order(phone(model=None))), 422, CH0 + ".value"),
    ("unknown characteristic name", lambda: as_json(order(phone("1", colour="black"))),
     422, "productOrderItem[0].product.productCharacteristic[1].name"),
    ("characteristic given twice",
     lambda: as_json(order(phone() | {"product": {"productCharacteristic": [
         {"name": "model", "value": "A"}, {"name": "model", "value": "B"}]}})),
     422, "productOrderItem[0].product.productCharacteristic[1].name"),
    ("missing required attribute (phone without model)",
     lambda: as_json(order(item("1", "phone", color="blue"))),
     422, "productOrderItem[0].product.productCharacteristic"),
    ("duplicate item ids", lambda: as_json(order(phone("1"), item("1", "mobile-plan", tier="basic"))),
     422, "productOrderItem[1].id"),
    ("unknown action", lambda: as_json(order(phone() | {"action": "upgrade"})),
     422, "productOrderItem[0].action"),
    ("modify without the asset it changes", lambda: as_json(order(phone() | {"action": "modify"})),
     422, "productOrderItem[0].product.id"),
    ("relationship to an unknown item",
     lambda: as_json(order(phone() | {"productOrderItemRelationship": [
         {"id": "99", "relationshipType": "isBundledBy"}]})),
     422, "productOrderItem[0].productOrderItemRelationship"),
    ("no relatedParty for a real offering", lambda: as_json(order(phone(), related_party=[])),
     422, "relatedParty"),
    ("relatedParty without the customer role",
     lambda: as_json(order(phone(), related_party=[{"id": "p-1", "role": "seller"}])),
     422, "relatedParty"),
    ("requestedStartDate is not a date", lambda: as_json(order(phone(), requestedStartDate="soon")),
     400, "requestedStartDate"),
    ("wrong content type", lambda: raw(seed_text(), "text/plain"), 415, "Content-Type"),
    ("no content type", lambda: {"content": seed_text().encode()}, 415, "Content-Type"),
    ("oversized body (> 16 MiB)", lambda: raw(oversized_order()), 413, "body"),
    ("oversized body sent chunked, without Content-Length", lambda: chunked(oversized_order()),
     413, "body"),
    ("10,000 nested arrays", lambda: raw(b"[" * 10_000 + b"]" * 10_000), 400, "body"),
    ("10,000 nested objects inside an order",
     lambda: raw(seed_text()[:-1] + ', "note": ' + '{"a": ' * 10_000 + "1" + "}" * 10_001), 400, "body"),
    ("NaN is not JSON", lambda: raw(seed_text().replace('"seed-0001"', "NaN")), 400, "body"),
    ("number too large for a float", lambda: raw(seed_text()[:-1] + ', "note": 1e400}'), 400, "body"),
    ("NUL character in a value",
     lambda: raw(seed_text().replace('"Fairphone 5"', '"Fair\\u0000phone"')), 400, CH0 + ".value"),
    ("unpaired surrogate in a value",
     lambda: raw(seed_text().replace('"Fairphone 5"', '"Fair\\ud800phone"')), 400, CH0 + ".value"),
    ("unpaired surrogate in a member name",
     lambda: raw(seed_text().replace('"description"', '"note\\udfff"')), 400, "body"),
]


@pytest.mark.parametrize("make_request,status,field", [c[1:] for c in BAD_ORDERS],
                         ids=[c[0] for c in BAD_ORDERS])
def test_a_bad_order_is_refused_with_a_problem_naming_the_field_and_nothing_is_stored(
        server, make_request, status, field):
    resp = server.client.post(ORDERS, **make_request())

    assert_problem(resp, status, field)
    assert_nothing_stored(server)


def test_every_issue_of_a_bad_order_is_reported_at_once(server):
    body = order(item("1", "tamagotchi"), item("2", "mobile-plan", tier="gold"),
                 phone("3", colour="red"), phone("3"))

    problem = assert_problem(server.post_order(body), 422, "productOrderItem[0].productOffering.id")

    assert {e["field"] for e in problem["errors"]} == {
        "productOrderItem[0].productOffering.id",
        "productOrderItem[1].product.productCharacteristic[0].value",
        "productOrderItem[2].product.productCharacteristic[1].name",
        "productOrderItem[3].id",
    }
    assert_nothing_stored(server)


def test_a_bad_value_for_a_required_attribute_is_reported_once_not_also_as_missing(server):
    problem = assert_problem(server.post_order(order(phone(model={"brand": "Fairphone"}))),
                             422, CH0 + ".value")

    assert [e["field"] for e in problem["errors"]] == [CH0 + ".value"]
    assert "model" in problem["errors"][0]["message"]


def test_the_problem_message_says_what_is_wrong_and_what_is_allowed(server):
    unknown = server.post_order(order(item("1", "tamagotchi"))).json()["errors"][0]["message"]
    enum = server.post_order(order(item("1", "mobile-plan", tier="gold"))).json()["errors"][0]["message"]

    assert "tamagotchi" in unknown and "phone" in unknown and "mobile-plan" in unknown
    assert "gold" in enum and "basic" in enum and "unlimited-plus" in enum


def test_a_refused_order_does_not_block_a_good_one_after_it(server):
    assert server.post_order(order(item("1", "tamagotchi"))).json()["code"] == "invalid-order"

    resp = server.post_order()

    assert resp.status_code == 201
    assert server.client.get(ORDERS).headers["X-Total-Count"] == "1"


# --- reading orders -------------------------------------------------------------------------

def test_get_of_an_unknown_order_is_a_404_problem(server):
    resp = server.client.get(f"{ORDERS}/no-such-order")

    assert_problem(resp, 404, "id")
    assert "no-such-order" in resp.json()["message"]


BAD_QUERIES = [
    ("limit=abc", "limit"),
    ("limit=0", "limit"),
    ("limit=-5", "limit"),
    ("limit=100000", "limit"),
    ("offset=minus-one", "offset"),
    ("colour=red", "colour"),
    ("state=completed&state=failed", "state"),
]


@pytest.mark.parametrize("query,parameter", BAD_QUERIES, ids=[q for q, _ in BAD_QUERIES])
def test_listing_with_a_bad_parameter_is_a_400_naming_it(server, query, parameter):
    resp = server.client.get(f"{ORDERS}?{query}")

    assert_problem(resp, 400, parameter)


# --- no input, however strange, makes the server fail -------------------------------------

JSON_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
ORDER_WORDS = st.sampled_from([
    "productOrderItem", "relatedParty", "id", "action", "productOffering", "product",
    "productCharacteristic", "name", "value", "role", "externalId", "requestedStartDate",
    "requestedCompletionDate", "quantity", "productOrderItemRelationship", "relationshipType",
    "phone", "mobile-plan", "model", "color", "tier", "customer", "add", "modify", "delete",
    "noChange", "isBundledBy"])
JSON_VALUES = st.recursive(
    JSON_SCALARS | ORDER_WORDS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(ORDER_WORDS | st.text(max_size=8), inner, max_size=5),
    max_leaves=30)


# Nearly right orders reach the catalog checks (422) and sometimes pass (201); anything goes
# in any value, so every layer (JSON reader, TMF622 shape, catalog, store) gets its turn.
def mostly(good, bad=JSON_VALUES):
    """Usually a plausible value, sometimes anything at all."""
    return st.integers(min_value=0, max_value=9).flatmap(lambda n: bad if n == 0 else good)


CHARACTERISTIC = st.fixed_dictionaries({
    "name": mostly(st.sampled_from(["model", "color", "tier", "port_number", "colour"]),
                   st.text(max_size=6)),
    "value": mostly(st.sampled_from(["Fairphone 5", "black", "blue", "basic", "unlimited", "gold"]))})
ITEM = st.fixed_dictionaries(
    {"id": mostly(st.sampled_from(["1", "2", "3"]), JSON_SCALARS),
     "action": mostly(st.sampled_from(["add", "modify", "delete", "noChange"]),
                      st.sampled_from(["upgrade", ""]) | JSON_SCALARS)},
    optional={
        "productOffering": mostly(st.fixed_dictionaries(
            {"id": mostly(st.sampled_from(["phone", "mobile-plan", "tamagotchi"]))})),
        "product": mostly(st.fixed_dictionaries({}, optional={
            "id": mostly(st.sampled_from(["asset-1"]), JSON_SCALARS),
            "productCharacteristic": mostly(st.lists(CHARACTERISTIC, max_size=3))})),
        "productOrderItemRelationship": mostly(st.lists(st.fixed_dictionaries(
            {"id": st.sampled_from(["1", "2", "9"]), "relationshipType": ORDER_WORDS}), max_size=2)),
        "quantity": mostly(st.integers(min_value=1, max_value=5), JSON_SCALARS),
    })
PARTY = st.fixed_dictionaries({"id": mostly(st.sampled_from(["cust-1"]), JSON_SCALARS)},
                              optional={"role": mostly(st.sampled_from(["customer", "seller"]),
                                                       JSON_SCALARS)})
ORDER_LIKE = st.fixed_dictionaries(
    {"productOrderItem": mostly(st.lists(ITEM, min_size=1, max_size=3))},
    optional={"relatedParty": mostly(st.lists(PARTY, max_size=2)),
              "externalId": mostly(st.text(max_size=10), JSON_SCALARS),
              "requestedStartDate": mostly(st.just("2026-12-01T10:00:00Z"), JSON_SCALARS),
              "description": JSON_VALUES})


@pytest.fixture
def fuzz_server(sqlite_url):
    server = start_server(sqlite_url, start_workers=False)
    yield server
    server.stop()


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(ORDER_LIKE, ORDER_LIKE, JSON_VALUES))
def test_no_json_body_makes_post_product_order_fail_with_a_5xx(fuzz_server, body):
    resp = fuzz_server.post_order(body)
    event(f"HTTP {resp.status_code}")  # --hypothesis-show-statistics: how deep the bodies got

    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert resp.headers["content-type"] == "application/json;charset=utf-8"
        assert resp.json()["status"] == str(resp.status_code)


@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_no_byte_sequence_makes_post_product_order_fail_with_a_5xx(fuzz_server, content):
    resp = fuzz_server.client.post(ORDERS, content=content,
                                   headers={"Content-Type": "application/json"})

    assert resp.status_code < 500, resp.text


@pytest.mark.parametrize("url", [
    "/tmf-api/productOrderingManagement/v4/productOrder/a%00b",
    "/tmf-api/productOrderingManagement/v4/productOrder?externalId=a%00b",
    "/tmf-api/productInventory/v4/product/a%00b",
    "/api/v1/orders/a%00b/plan",
])
def test_a_nul_character_in_the_url_is_refused_not_a_server_error(server, url):
    resp = server.client.get(url)

    assert resp.status_code == 400
    media = "application/json;charset=utf-8" if url.startswith("/tmf-api/") else "application/problem+json"
    assert resp.headers["content-type"] == media
    assert resp.json()["errors"] == [{"field": "url", "message": "contains a NUL character"}]
