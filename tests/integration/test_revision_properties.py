"""A property of in-flight changes: random orders, random revisions at random moments; once
the plan ends, the customer's assets are exactly what the last accepted revision asked for."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordertower.adapters.catalog_files import REFERENCE_CATALOG

from ..support.engine import EngineHarness
from ..support.live import ORDERS

COLORS = ["black", "white", "blue", "red"]
TIERS = ["basic", "unlimited", "unlimited-plus"]
_customers = itertools.count()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    harness = EngineHarness(f"sqlite:///{tmp_path_factory.mktemp('prop')}/ordertower.db",
                            catalog=REFERENCE_CATALOG)
    yield harness
    harness.close()


def _item(item_id: str, spec: tuple) -> dict:
    offering, value = spec
    chars = ([{"name": "model", "value": "Fairphone 5"}, {"name": "color", "value": value}]
             if offering == "phone" else [{"name": "tier", "value": value}])
    return {"id": item_id, "action": "add", "productOffering": {"id": offering},
            "product": {"productCharacteristic": chars}}


phone = st.tuples(st.just("phone"), st.sampled_from(COLORS))
plan = st.tuples(st.just("mobile-plan"), st.sampled_from(TIERS))
# an order: item ids 1..3, each a phone or a plan, some absent
order_items = st.fixed_dictionaries({"1": phone}, optional={"2": plan, "3": st.one_of(phone, plan)})
actions = st.lists(st.one_of(
    st.tuples(st.just("step"), st.integers(1, 3)),
    st.tuples(st.just("amend"), order_items),
    st.tuples(st.just("offline"), st.sampled_from(["network", "warehouse", "billing"]), st.booleans()),
), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=order_items, script=actions)
def test_assets_equal_the_last_accepted_revision(world, initial, script):
    customer = f"prop-{next(_customers)}"
    body = {"relatedParty": [{"id": customer, "role": "customer"}],
            "productOrderItem": [_item(i, s) for i, s in sorted(initial.items())]}
    order_id = world.place(body)
    accepted = dict(initial)
    for action in script:
        if action[0] == "step":
            for _ in range(action[1]):
                world.step()
        elif action[0] == "offline":
            world.api("PUT", f"/api/v1/systems/{action[1]}", json={"offline": action[2]})
        else:
            resp = world.api("PATCH", f"{ORDERS}/{order_id}", json={
                "productOrderItem": [_item(i, s) for i, s in sorted(action[1].items())]})
            assert resp.status_code in (200, 409), resp.text
            if resp.status_code == 200:
                accepted = dict(action[1])
    for system in ("network", "warehouse", "billing"):
        world.api("PUT", f"/api/v1/systems/{system}", json={"offline": False})
    world.settle(max_cycles=100)

    order = world.order(order_id)
    assert order["state"] == "completed", world.items(order_id)
    products = world.api("GET", "/tmf-api/productInventory/v4/product",
                         params={"relatedParty.id": customer, "status": "active"}).json()
    owned = {p["productOrderItem"][0]["orderItemId"]:
             (p["productOffering"]["id"],
              next(c["value"] for c in p["productCharacteristic"] if c["name"] in ("color", "tier")))
             for p in products}
    assert owned == accepted
