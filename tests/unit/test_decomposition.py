"""Decomposition, alone: order items -> fulfillment lines. No database, no I/O."""

from __future__ import annotations

import pytest

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.catalog import Catalog
from ordertower.domain.decomposition import decompose
from ordertower.domain.orders import ItemInput, validate_items


@pytest.fixture(scope="module")
def reference():
    return load_catalog().catalog


def _items(catalog, *specs):
    return validate_items([ItemInput(id=i, action=a, offering_id=o, characteristics=tuple(c.items()))
                           for i, a, o, c in specs], catalog)


def _by_product(decomposition):
    return {line.technical_product: line for line in decomposition.lines}


def test_seed_order_yields_one_line_per_technical_product_with_mapped_attributes(reference):
    items = _items(reference, ("1", "add", "phone", {"model": "Pixel 9"}),
                   ("2", "add", "mobile-plan", {"tier": "unlimited-plus"}))
    lines = _by_product(decompose(items, reference, "cust-1"))

    # rules apply in catalog order: the shared account rule (shared.yaml) before telecom's
    assert list(lines) == ["billing-account", "device-shipment", "sim-card", "mobile-line",
                           "billing-subscription"]
    assert lines["device-shipment"].attributes == {"model": "Pixel 9", "color": "black"}  # default
    assert lines["sim-card"].attributes == {"sim_type": "physical"}  # constant
    assert lines["mobile-line"].attributes == {"tier": "unlimited-plus", "speed_profile": "5g-max"}
    assert lines["billing-subscription"].attributes == {"product": "mobile-plan", "plan": "unlimited-plus"}
    assert all(line.action == "add" for line in lines.values())


def test_every_line_keeps_lineage_to_the_order_items_it_came_from(reference):
    items = _items(reference, ("1", "add", "phone", {"model": "X"}),
                   ("2", "add", "mobile-plan", {"tier": "basic"}))
    lines = _by_product(decompose(items, reference, "cust-1"))

    assert lines["device-shipment"].lineage == ["1"]
    assert lines["mobile-line"].lineage == ["2"]
    assert lines["billing-account"].lineage == ["1", "2"]
    assert lines["billing-account"].rule_ids == ["billable-needs-account"]


def test_account_scope_makes_one_shared_line_per_customer(reference):
    items = _items(reference, ("a", "add", "mobile-plan", {"tier": "basic"}),
                   ("b", "add", "mobile-plan", {"tier": "unlimited"}),
                   ("c", "add", "phone", {"model": "X"}))
    decomposition = decompose(items, reference, "cust-9")
    accounts = [ln for ln in decomposition.lines if ln.technical_product == "billing-account"]
    lines_per_product = [ln.technical_product for ln in decomposition.lines]

    assert len(accounts) == 1
    assert accounts[0].id == "account:cust-9/billing-account"
    assert accounts[0].lineage == ["a", "b", "c"]
    assert lines_per_product.count("mobile-line") == 2  # item scope: one per plan


def test_value_list_mapping_falls_back_to_its_default(reference):
    # a copy of the reference rule whose value list lacks 'basic'
    data = reference.model_dump(by_alias=True)
    rule = next(r for r in data["rules"] if r["id"] == "plan-activates-line")
    del rule["mappings"]["speed_profile"]["values"]["basic"]
    catalog = Catalog.model_validate(data)
    items = _items(catalog, ("1", "add", "mobile-plan", {"tier": "basic"}))

    assert _by_product(decompose(items, catalog, "c"))["mobile-line"].attributes["speed_profile"] == "4g-10mbps"


CONDITIONAL = {
    "version": "t",
    "products": [{"id": "broadband", "attributes": [
        {"name": "speed_mbps", "type": "integer", "required": True},
        {"name": "install", "type": "enum", "values": ["self", "technician"], "default": "self"}]}],
    "technical_products": [{"id": "broadband-line", "attributes": [{"name": "speed", "type": "integer"}]},
                           {"id": "field-install"}, {"id": "fast-lane"}, {"id": "cpe-router"},
                           {"id": "router-firmware"}],
    "rules": [
        {"id": "line", "source": "broadband", "target": "broadband-line",
         "mappings": {"speed": {"copy": "speed_mbps"}}},
        {"id": "technician", "source": "broadband", "target": "field-install",
         "when": "install = 'technician'"},
        {"id": "fast", "source": "broadband", "target": "fast-lane", "when": "speed_mbps >= 500"},
        {"id": "router", "source": "broadband", "target": "cpe-router", "actions": ["add"]},
        {"id": "firmware", "source": "cpe-router", "target": "router-firmware"},
    ],
}


@pytest.mark.parametrize("attrs, action, expected", [
    ({"speed_mbps": 100}, "add", {"broadband-line", "cpe-router", "router-firmware"}),
    ({"speed_mbps": 100, "install": "technician"}, "add",
     {"broadband-line", "field-install", "cpe-router", "router-firmware"}),
    ({"speed_mbps": 1000}, "add", {"broadband-line", "fast-lane", "cpe-router", "router-firmware"}),
    ({"speed_mbps": 500, "install": "technician"}, "add",
     {"broadband-line", "field-install", "fast-lane", "cpe-router", "router-firmware"}),
], ids=["self-install-slow", "technician", "fast", "technician-fast"])
def test_conditions_select_and_deselect_rules(attrs, action, expected):
    catalog = Catalog.model_validate(CONDITIONAL)
    items = _items(catalog, ("1", action, "broadband", attrs))
    decomposition = decompose(items, catalog, "c")

    assert {ln.technical_product for ln in decomposition.lines} == expected
    skipped = {e.rule_id: e.reason for e in decomposition.evaluations if not e.fired}
    if "field-install" not in expected:
        assert skipped["technician"] == "condition is false: install = 'technician'"


def test_a_rule_applies_only_to_its_actions():
    catalog = Catalog.model_validate(CONDITIONAL)
    items = validate_items([ItemInput("1", "modify", "broadband", (("speed_mbps", 100),), product_id="asset-1")],
                           catalog)
    decomposition = decompose(items, catalog, "c")

    assert "cpe-router" not in {ln.technical_product for ln in decomposition.lines}
    reason = next(e.reason for e in decomposition.evaluations if e.rule_id == "router")
    assert reason == "action 'modify' is not among add"


def test_rules_apply_repeatedly_down_to_the_leaves_with_parent_links():
    catalog = Catalog.model_validate(CONDITIONAL)
    items = _items(catalog, ("1", "add", "broadband", {"speed_mbps": 100}))
    lines = _by_product(decompose(items, catalog, "c"))

    assert lines["router-firmware"].parent_line_id == lines["cpe-router"].id
    assert lines["router-firmware"].id == "1/cpe-router/router-firmware"
    assert lines["router-firmware"].lineage == ["1"]
    assert lines["broadband-line"].attributes == {"speed": 100}


def test_decomposition_is_deterministic(reference):
    specs = [("1", "add", "phone", {"model": "X", "color": "red"}),
             ("2", "add", "mobile-plan", {"tier": "basic", "port_number": "+3161234"})]
    first = decompose(_items(reference, *specs), reference, "c")
    second = decompose(_items(reference, *specs), reference, "c")

    assert [ln.as_dict() for ln in first.lines] == [ln.as_dict() for ln in second.lines]


def test_a_delete_line_carries_no_mapped_data(reference):
    items = validate_items([ItemInput("1", "delete", "mobile-plan", product_id="asset-7")], reference)
    lines = _by_product(decompose(items, reference, "c"))

    assert lines["mobile-line"].action == "delete"
    assert lines["mobile-line"].attributes == {}
    assert lines["sim-card"].attributes == {}  # the SIM is blocked, with no new data
