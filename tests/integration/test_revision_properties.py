"""A property of in-flight changes: random orders, random amendments and a cancellation at
random moments, on SQLite and PostgreSQL; once the order ends, the customer's installed base
(TMF637) is exactly what the last accepted revision asked for, and for a cancelled order
exactly what it was before the order (issue 10, defect 2).

Cheap and honest: the real engine, API and simulators in-process on a hand-stepped clock
(tests/support/engine.py), one harness per database for the whole module, a fresh customer
per example. ``ORDERTOWER_TEST_PROPERTY_EXAMPLES`` (default 200) sets the examples per
database."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ordertower.adapters.catalog_files import REFERENCE_CATALOG

from ..conftest import _truncate
from ..support.engine import EngineHarness
from ..support.live import ORDERS

CANCEL = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
PRODUCTS = "/tmf-api/productInventory/v4/product"
COLORS = ["black", "white", "blue", "red"]
TIERS = ["basic", "unlimited", "unlimited-plus"]
SYSTEMS = ("network", "warehouse", "billing")
# systems offline when the order is placed (hypothesis draws small sets mostly empty: a list)
HELD = [(), ("network",), ("warehouse",), ("billing",), ("network", "billing")]
EXAMPLES = int(os.environ.get("ORDERTOWER_TEST_PROPERTY_EXAMPLES", "200"))
_customers = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('prop')}/ordertower.db"
    else:
        url = request.getfixturevalue("pg_database_url")
        _truncate(url)
    harness = EngineHarness(url, catalog=REFERENCE_CATALOG)
    harness.offline = set()  # systems an example took offline or online: put back online at its end
    yield harness
    harness.close()


def _item(item_id: str, spec: tuple, owned: str | None = None) -> dict:
    offering, value = spec[0], spec[1]
    if offering == "recolour":  # a modify of the phone the customer owned before the order
        return {"id": item_id, "action": "modify", "productOffering": {"id": "phone"},
                "product": {"id": owned, "productCharacteristic": [{"name": "color", "value": value}]}}
    chars = ([{"name": "model", "value": "Fairphone 5"}, {"name": "color", "value": value}]
             if offering == "phone" else [{"name": "tier", "value": value}])
    return {"id": item_id, "action": "add", "productOffering": {"id": offering},
            "product": {"productCharacteristic": chars}}


phone = st.tuples(st.just("phone"), st.sampled_from(COLORS))
plan = st.tuples(st.just("mobile-plan"), st.sampled_from(TIERS))
recolour = st.tuples(st.just("recolour"), st.sampled_from(COLORS))
# an order: item ids 1..4, each a phone or a plan added, or a recolouring of the phone owned
# before (only when there is one), some absent
order_items = st.fixed_dictionaries({"1": phone}, optional={"2": plan, "3": st.one_of(phone, plan),
                                                            "4": recolour})
actions = st.lists(st.one_of(
    st.tuples(st.just("step"), st.integers(1, 3)),
    st.tuples(st.just("amend"), order_items),
    st.tuples(st.just("offline"), st.sampled_from(SYSTEMS), st.booleans()),
), max_size=6)


def _installed(world, customer: str) -> dict[str, tuple]:
    """Active products: by order item id for the order's, "owned" for the one owned before."""
    products = world.api("GET", PRODUCTS, params={"relatedParty.id": customer, "status": "active"}).json()
    return {("owned" if p["productOrderItem"][0]["productOrderId"] != world.current else
             p["productOrderItem"][0]["orderItemId"]):
            (p["productOffering"]["id"],
             next(c["value"] for c in p["productCharacteristic"] if c["name"] in ("color", "tier")))
            for p in products}


def _expected(accepted: dict[str, tuple], before: dict[str, tuple]) -> dict[str, tuple]:
    out = dict(before)
    for item_id, (offering, value) in accepted.items():
        if offering == "recolour":
            out["owned"] = ("phone", value)
        else:
            out[item_id] = (offering, value)
    return out


@example(owns_a_phone=False, held=("network",),
         initial={"1": ("phone", "black"), "2": ("mobile-plan", "basic"), "3": ("phone", "black")},
         script=[("step", 1), ("step", 1), ("amend", {"1": ("phone", "black"), "3": ("mobile-plan", "basic")})],
         cancel_at=None)
@example(owns_a_phone=True, held=(), initial={"1": ("phone", "black"), "4": ("recolour", "white")},
         script=[("step", 1), ("amend", {"1": ("phone", "black"), "2": ("mobile-plan", "basic"),
                                         "4": ("recolour", "white")})], cancel_at=None)
@example(owns_a_phone=False, held=("network",),  # the cancel undoes the phone shipped again, once
         initial={"1": ("phone", "black"), "2": ("mobile-plan", "basic")},
         script=[("step", 2), ("amend", {"1": ("phone", "white"), "2": ("mobile-plan", "basic")}),
                 ("step", 3)], cancel_at=3)
@pytest.mark.timeout(1200)  # 200 examples on a busy 2-core machine: see docs/testing.md
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(owns_a_phone=st.booleans(), held=st.sampled_from(HELD),
       initial=order_items, script=actions, cancel_at=st.one_of(st.none(), st.integers(0, 6)))
def test_the_installed_base_equals_the_last_accepted_revision_or_what_was_before_a_cancellation(
        world, owns_a_phone, held, initial, script, cancel_at):
    customer = f"prop-{next(_customers)}"
    party = [{"id": customer, "role": "customer"}]
    owned = None
    world.current = None
    if owns_a_phone:
        first = world.place({"relatedParty": party, "productOrderItem": [_item("1", ("phone", "black"))]})
        world.settle(max_cycles=100)
        [product] = world.api("GET", PRODUCTS, params={"relatedParty.id": customer}).json()
        owned = product["id"]
        assert world.order(first)["state"] == "completed"
    else:
        initial = {k: v for k, v in initial.items() if v[0] != "recolour"}
    before = _installed(world, customer)

    def items(spec: dict) -> list[dict]:
        return [_item(i, s, owned) for i, s in sorted(spec.items()) if owned or s[0] != "recolour"]

    for system in held:  # its work waits until the script (or the end) brings it back
        world.api("PUT", f"/api/v1/systems/{system}", json={"offline": True})
        world.offline.add(system)
    order_id = world.place({"relatedParty": party, "productOrderItem": items(initial)})
    world.current = order_id
    accepted, cancelled = {i: s for i, s in initial.items() if owned or s[0] != "recolour"}, False
    if cancel_at is not None:  # the customer cancels at a random moment (refused past PONR)
        script = script[:cancel_at] + [("cancel",)] + script[cancel_at:]
    for action in script:
        if action[0] == "step":
            for _ in range(action[1]):
                world.step()
        elif action[0] == "offline":
            world.api("PUT", f"/api/v1/systems/{action[1]}", json={"offline": action[2]})
            world.offline.add(action[1])
        elif action[0] == "cancel":
            resp = world.api("POST", CANCEL, json={"productOrder": {"id": order_id}})
            assert resp.status_code in (201, 409), resp.text
            cancelled = cancelled or (resp.status_code == 201 and resp.json()["state"] != "terminatedWithError")
        else:
            resp = world.api("PATCH", f"{ORDERS}/{order_id}", json={"productOrderItem": items(action[1])})
            assert resp.status_code in (200, 409), resp.text
            assert not (cancelled and resp.status_code == 200), "a cancelled order was amended"
            if resp.status_code == 200:
                accepted = {i: s for i, s in action[1].items() if owned or s[0] != "recolour"}
    for system in sorted(world.offline):  # all online again (the others never went offline)
        world.api("PUT", f"/api/v1/systems/{system}", json={"offline": False})
    world.offline.clear()
    world.settle(max_cycles=100)

    order = world.order(order_id)
    assert order["state"] == ("cancelled" if cancelled else "completed"), world.items(order_id)
    assert _installed(world, customer) == (before if cancelled else _expected(accepted, before))
