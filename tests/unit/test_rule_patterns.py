"""Decomposition in depth, table-driven: rule patterns (1:1, 1:M by conditions, M:1 by scope,
multi-level), scopes, bundles and related items, and every kind of mapping. No I/O.

One small catalog: a `bundle` offering whose children are `tv` and `line` items.
"""

from __future__ import annotations

import pytest

from ordertower.domain.catalog import Catalog
from ordertower.domain.decomposition import decompose
from ordertower.domain.orders import ItemInput, validate_items

CATALOG = Catalog.model_validate({
    "products": [
        {"id": "bundle", "attributes": [{"name": "tier", "type": "enum", "values": ["gold", "silver"]},
                                        {"name": "region", "type": "string"}]},
        {"id": "tv", "attributes": [{"name": "hd", "type": "boolean", "default": False}]},
        {"id": "line", "attributes": [{"name": "speed", "type": "integer", "required": True},
                                      {"name": "install", "type": "enum", "values": ["self", "technician"],
                                       "default": "self"},
                                      {"name": "start", "type": "date"}]},
    ],
    "technical_products": [
        {"id": "box", "attributes": [{"name": n, "type": t} for n, t in
                                     (("model", "string"), ("tier", "string"), ("hd", "boolean"))]},
        {"id": "delivery", "attributes": [{"name": "region", "type": "string"}]},
        {"id": "account"},
        {"id": "router", "attributes": [{"name": "region", "type": "string"}]},
        {"id": "access", "attributes": [{"name": n, "type": t} for n, t in
                                        (("kbps", "integer"), ("tier", "string"), ("ready_by", "date"),
                                         ("label", "integer"), ("port", "string"))]},
        {"id": "port", "attributes": [{"name": "kbps", "type": "integer"}]},
        {"id": "visit"},
    ],
    "rules": [
        {"id": "tv-box", "source": "tv", "target": "box",
         "mappings": {"model": {"constant": "stb-4k"}, "hd": {"copy": "hd"}, "tier": {"copy": "bundle.tier"}}},
        {"id": "one-delivery", "source": ["tv", "line"], "target": "delivery", "scope": "order",
         "mappings": {"region": {"copy": "bundle.region", "merge": "first"}}},
        {"id": "one-account", "source": ["tv", "line"], "target": "account", "scope": "account"},
        {"id": "router-per-bundle", "source": "line", "target": "router", "scope": "root",
         "mappings": {"region": {"copy": "bundle.region"}}},
        {"id": "line-access", "source": "line", "target": "access", "mappings": {
            "kbps": {"expression": "speed * 1000"},
            "tier": {"from": "bundle.tier", "values": {"gold": "premium"}, "default": "standard"},
            "ready_by": {"expression": "start - 7"},
            "label": {"expression": "concat('line-', speed)"},  # text for an integer: not set
            "port": {"copy": "install"}}},
        {"id": "access-port", "source": "access", "target": "port", "mappings": {"kbps": {"copy": "kbps"}}},
        {"id": "gold-visit", "source": "line", "target": "visit",
         "when": "install = 'technician' and bundle.tier = 'gold'"},
    ],
})


def order(*specs, action="add"):
    """(id, offering, parent, attributes) -> validated items."""
    return validate_items([ItemInput(i, action, o, tuple(a.items()), parent_id=p)
                           for i, o, p, a in specs], CATALOG)


TWO_BUNDLES = order(
    ("B", "bundle", None, {"tier": "gold", "region": "north"}),
    ("T1", "tv", "B", {"hd": True}),
    ("L1", "line", "B", {"speed": 100, "install": "technician", "start": "2026-03-10"}),
    ("L2", "line", "B", {"speed": 500}),
    ("B2", "bundle", None, {"tier": "silver", "region": "south"}),
    ("L3", "line", "B2", {"speed": 50, "install": "technician"}),
)


@pytest.fixture(scope="module")
def lines():
    return {ln.id: ln for ln in decompose(TWO_BUNDLES, CATALOG, "cust-1").lines}


# --- rule patterns and scopes -------------------------------------------------------------------

@pytest.mark.parametrize("pattern, technical_product, expected", [
    ("1:1 item scope: a box per tv", "box", {"T1/box": ["T1"]}),
    ("1:1 item scope: an access per line", "access",
     {"L1/access": ["L1"], "L2/access": ["L2"], "L3/access": ["L3"]}),
    ("M:1 root scope: one router per bundle", "router", {"B/router": ["L1", "L2"], "B2/router": ["L3"]}),
    ("M:1 order scope: one delivery per order", "delivery", {"order/delivery": ["L1", "L2", "L3", "T1"]}),
    ("M:1 account scope: one account per customer", "account",
     {"account:cust-1/account": ["L1", "L2", "L3", "T1"]}),
    ("multi-level: a port under each access", "port",
     {"L1/access/port": ["L1"], "L2/access/port": ["L2"], "L3/access/port": ["L3"]}),
    ("1:M chosen by a condition over a related item", "visit", {"L1/visit": ["L1"]}),
], ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_rule_patterns_and_scopes(lines, pattern, technical_product, expected):
    made = {ln.id: ln.lineage for ln in lines.values() if ln.technical_product == technical_product}

    assert made == expected


def test_a_line_made_from_a_line_links_to_its_parent_and_keeps_the_order_items(lines):
    port = lines["L1/access/port"]

    assert port.parent_line_id == "L1/access"
    assert port.attributes == {"kbps": 100000}
    assert port.rule_ids == ["access-port"]


def test_shared_lines_know_every_bundle_they_serve(lines):
    assert lines["account:cust-1/account"].root_item_ids == ["B", "B2"]
    assert lines["B/router"].root_item_ids == ["B"]


def test_bundle_children_decompose_in_their_bundles_context(lines):
    # the line of the silver bundle is not visited, though it asks for a technician
    assert "L3/visit" not in lines
    assert lines["B/router"].attributes == {"region": "north"}
    assert lines["B2/router"].attributes == {"region": "south"}
    assert lines["order/delivery"].attributes == {"region": "north"}  # merge: first


# --- mappings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("line_id, attribute, value", [
    ("T1/box", "model", "stb-4k"),  # constant
    ("T1/box", "hd", True),  # copy
    ("T1/box", "tier", "gold"),  # copy from a related item (the bundle)
    ("L1/access", "kbps", 100000),  # expression (numbers)
    ("L1/access", "tier", "premium"),  # value list over a related item
    ("L3/access", "tier", "standard"),  # value list: not listed -> default
    ("L1/access", "ready_by", "2026-03-03"),  # expression (date arithmetic)
    ("L2/access", "ready_by", None),  # expression over a missing attribute: not set
    ("L1/access", "label", None),  # expression giving text for an integer: not set
    ("L2/access", "port", "self"),  # copy of an attribute set by its default
], ids=lambda v: str(v))
def test_mapping_kinds(lines, line_id, attribute, value):
    assert lines[line_id].attributes.get(attribute) == value


def test_the_explorer_trace_says_how_each_value_was_mapped():
    notes = decompose(TWO_BUNDLES, CATALOG, "c", trace=True).mapping_notes

    assert notes["T1/box"] == {"model": "constant", "hd": "copy of hd", "tier": "copy of bundle.tier"}
    assert notes["L3/access"]["tier"] == "default of the value list (bundle.tier = 'silver' is not listed)"
    assert notes["L1/access"]["label"].startswith("expression concat('line-', speed); not set:")


def test_mappings_are_not_run_for_delete_lines():
    items = validate_items([ItemInput("L9", "delete", "line", product_id="asset-9")], CATALOG)
    made = {ln.id: ln for ln in decompose(items, CATALOG, "c").lines}

    assert made["L9/access"].action == "delete"
    assert all(ln.attributes == {} for ln in made.values())


def test_a_rule_only_applies_to_its_actions_and_says_so():
    items = validate_items([ItemInput("L", "noChange", "line", (("speed", 1),), product_id="a")], CATALOG)
    decomposition = decompose(items, CATALOG, "c")

    assert decomposition.lines == []
    assert {e.reason for e in decomposition.evaluations} == {
        "action 'noChange' is not among add, modify, delete"}
