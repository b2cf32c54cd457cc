"""Planning, alone: fulfillment lines -> a DAG of plan items. No database, no I/O."""

from __future__ import annotations

import pytest

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.catalog import Catalog
from ordertower.domain.decomposition import decompose
from ordertower.domain.errors import InvalidOrder, PlanNotAcyclic
from ordertower.domain.orders import ItemInput, validate_items
from ordertower.domain.planning import Plan, PlannedItem, build_plan


@pytest.fixture(scope="module")
def reference():
    return load_catalog().catalog


def _plan(catalog, specs, customer="c"):
    items = validate_items([ItemInput(i, a, o, tuple(c.items())) for i, a, o, c in specs], catalog)
    return build_plan(decompose(items, catalog, customer), catalog, [i.id for i in items])


SEED = [("1", "add", "phone", {"model": "X"}), ("2", "add", "mobile-plan", {"tier": "unlimited"})]


def test_seed_plan_has_an_item_per_scenario_step_and_an_assetize_per_root_item(reference):
    plan = _plan(reference, SEED)

    assert sorted(i.key for i in plan.items) == sorted([
        "1/device-shipment#ship", "account:c/billing-account#open", "2/sim-card#ship",
        "2/mobile-line#activate", "2/billing-subscription#start", "assetize/1", "assetize/2"])
    activate = plan.item("2/mobile-line#activate")
    assert (activate.type, activate.system, activate.ponr) == ("callout", "network", True)
    assert plan.item("assetize/1").type == "auto"


def test_activation_waits_for_the_sim_and_billing_for_activation_and_the_account(reference):
    plan = _plan(reference, SEED)

    assert plan.item("2/mobile-line#activate").depends_on == ["2/sim-card#ship"]
    assert plan.item("2/billing-subscription#start").depends_on == [
        "2/mobile-line#activate", "account:c/billing-account#open"]
    assert plan.item("1/device-shipment#ship").depends_on == []
    assert plan.item("assetize/1").depends_on == ["1/device-shipment#ship", "account:c/billing-account#open"]


def test_cross_line_dependencies_bind_only_lines_of_the_same_order_item(reference):
    plan = _plan(reference, [("a", "add", "mobile-plan", {"tier": "basic"}),
                             ("b", "add", "mobile-plan", {"tier": "unlimited"})])

    assert plan.item("a/mobile-line#activate").depends_on == ["a/sim-card#ship"]
    assert plan.item("b/mobile-line#activate").depends_on == ["b/sim-card#ship"]


def test_items_come_in_topological_order(reference):
    plan = _plan(reference, SEED)
    position = {item.key: n for n, item in enumerate(plan.items)}

    for item in plan.items:
        assert all(position[d] < position[item.key] for d in item.depends_on)


def test_the_item_spec_carries_what_execution_needs(reference):
    activate = _plan(reference, SEED).item("2/mobile-line#activate")

    assert activate.spec.request.path == "/lines/activate"
    assert activate.spec.retry.strategy == "exponential"  # the network's policy
    assert dict(activate.spec.outputs) == {"msisdn": "msisdn"}
    assert activate.expected_duration_s == 3600


def test_a_line_without_a_scenario_for_its_action_cannot_be_planned():
    catalog = Catalog.model_validate({
        "systems": [{"id": "s", "base_url": "http://x"}],
        "products": [{"id": "p", "attributes": [{"name": "x", "type": "string"}]}],
        "technical_products": [{"id": "t", "attributes": [{"name": "x", "type": "string"}]}],
        "rules": [{"id": "r", "source": "p", "target": "t", "mappings": {"x": {"copy": "x"}}}],
        "scenarios": [{"product": "t", "action": "add", "items": [{"id": "m", "type": "milestone"}]}]})
    items = validate_items([ItemInput("1", "modify", "p", (("x", "Y"),), product_id="asset-1")], catalog)
    with pytest.raises(InvalidOrder) as refused:
        build_plan(decompose(items, catalog, "c"), catalog, ["1"])

    assert "no orchestration scenario for t/modify" in str(refused.value)


def test_a_cyclic_plan_is_refused():
    # two items that wait for each other across lines slip past no check but the planner's
    catalog = Catalog.model_validate({
        "systems": [{"id": "s", "base_url": "http://x"}],
        "products": [{"id": "p"}], "technical_products": [{"id": "a"}, {"id": "b"}],
        "rules": [{"id": "ra", "source": "p", "target": "a"}, {"id": "rb", "source": "p", "target": "b"}],
        "scenarios": [
            {"product": "a", "items": [{"id": "x", "type": "milestone", "after": ["b.y"]}]},
            {"product": "b", "items": [{"id": "y", "type": "milestone", "after": ["a.x"]}]}]})

    with pytest.raises(PlanNotAcyclic) as refused:
        _plan(catalog, [("1", "add", "p", {})])
    assert "cycle" in str(refused.value)


def test_plan_item_dictionaries_round_trip_their_fields(reference):
    item = _plan(reference, SEED).item("2/sim-card#ship")
    data = item.as_dict()

    assert PlannedItem(**data) == item
    assert isinstance(Plan([item]).item(item.key), PlannedItem)
