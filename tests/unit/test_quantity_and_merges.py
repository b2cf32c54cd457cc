"""Quantity and M:1 merges in the domain and the explorer (issue 10, defects 1 and 3): an
item of quantity N is N numbered instances, each with its own lines, plan items and asset;
a shared line fed by several items takes the value its mapping's merge policy chooses, and
the explorer says which source won and why. No database."""

from __future__ import annotations

from typing import Any

import pytest

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.errors import InvalidOrder
from ordertower.domain.explain import explain
from ordertower.domain.inventory import InstalledBase
from ordertower.domain.orders import ItemInput, validate_items

from ..support.catalogs import write_catalog
from ..support.macd import complete, place


def plan_item(item_id: str, quantity: int | None = None, **attributes: Any) -> ItemInput:
    return ItemInput(item_id, "add", "mobile-plan", tuple((attributes or {"tier": "basic"}).items()),
                     quantity=quantity)


@pytest.fixture(scope="module")
def reference():
    return load_catalog()


def test_an_item_of_quantity_three_is_three_numbered_instances(reference):
    placed = place(reference.catalog, InstalledBase.empty("c"), plan_item("2", 3))

    assert [(i.id, i.instance) for i in placed.items] == [("2[1]", 1), ("2[2]", 2), ("2[3]", 3)]
    assert len({i.asset_id for i in placed.items}) == 3
    lines = sorted(ln.id for ln in placed.lines if ln.technical_product == "mobile-line")
    assert lines == ["2[1]/mobile-line", "2[2]/mobile-line", "2[3]/mobile-line"]
    assert sorted(p.key for p in placed.plan.items if p.key.startswith("assetize/")) == [
        "assetize/2[1]", "assetize/2[2]", "assetize/2[3]"]


def test_quantity_one_or_none_keeps_the_item_as_it_was_sent(reference):
    items = validate_items([plan_item("2", 1), plan_item("3")], reference.catalog)
    assert [(i.id, i.instance) for i in items] == [("2", None), ("3", None)]


def test_a_bundle_of_several_instances_is_refused(reference):
    with pytest.raises(InvalidOrder) as refused:
        validate_items([ItemInput("1", "add", "broadband", (("speed_mbps", "100"), ("address", "A")),
                                  quantity=2),
                        ItemInput("2", "add", "broadband", (("speed_mbps", "100"), ("address", "B")),
                                  parent_id="1")], reference.catalog)
    assert [i.location for i in refused.value.issues] == ["productOrderItem[0].quantity"]


def test_a_quantity_beyond_what_one_order_may_hold_is_refused_before_anything_is_made(reference):
    with pytest.raises(InvalidOrder) as refused:
        validate_items([plan_item("1", 10**9)], reference.catalog)
    [issue] = refused.value.issues
    assert issue.location == "productOrderItem[0].quantity" and "20000" in issue.message


def test_the_instances_of_an_item_are_completed_as_one_asset_each(reference):
    base = InstalledBase.empty("c")
    placed = place(reference.catalog, base, plan_item("2", 2))
    base = complete(base, placed, reference.catalog, {"mobile-line": {"msisdn": "+316"}})

    owned = sorted(base.assets.values(), key=lambda a: a.instance or 0)
    assert [(a.instance, a.instance_of) for a in owned] == [(1, owned[0].id), (2, owned[0].id)]


def test_explain_shows_the_instances_of_an_item(reference):
    items = validate_items([plan_item("2", 2)], reference.catalog)
    shown = explain(items, reference.catalog, "c", None, catalog_version="v").as_dict()

    assert [(n["item"], n["instance"], n["quantity"]) for n in shown["items"]] == [
        ("2[1]", 1, 2), ("2[2]", 2, 2)]


def _pool(policy: str | None):
    def change(docs):
        docs["telecom.yaml"]["technical_products"].append(
            {"id": "data-pool", "attributes": [{"name": "tier", "type": "string"}]})
        docs["telecom.yaml"]["rules"].append({
            "id": "plans-share-a-pool", "source": "mobile-plan", "target": "data-pool", "scope": "order",
            "mappings": {"tier": {"copy": "tier"} | ({"merge": policy} if policy else {})}})
        docs["telecom.yaml"]["scenarios"].append({"product": "data-pool", "action": "add", "items": [
            {"id": "open", "type": "callout", "system": "network", "request": {"path": "/pools"}}]})
    return change


@pytest.mark.parametrize("policy, expected", [
    ("first", "unlimited"), ("last", "basic"), ("max", "unlimited-plus"), ("min", "basic"),
    ("list", ["unlimited", "unlimited-plus", "basic"])])
def test_a_merge_policy_chooses_the_value_of_a_shared_line(tmp_path, policy, expected):
    catalog = load_catalog(write_catalog(tmp_path / policy, _pool(policy))).catalog
    placed = place(catalog, InstalledBase.empty("c"), plan_item("1", tier="unlimited"),
                   plan_item("2", tier="unlimited-plus"), plan_item("3", tier="basic"))

    [pool] = [ln for ln in placed.lines if ln.technical_product == "data-pool"]
    assert pool.attributes["tier"] == expected and pool.lineage == ["1", "2", "3"]


def test_without_a_merge_policy_different_values_refuse_the_order_naming_both(tmp_path):
    catalog = load_catalog(write_catalog(tmp_path / "error", _pool(None))).catalog

    with pytest.raises(InvalidOrder) as refused:
        place(catalog, InstalledBase.empty("c"), plan_item("1", tier="unlimited"),
              plan_item("2", tier="unlimited"), plan_item("3", tier="basic"))

    [issue] = refused.value.issues
    assert issue.location == "productOrderItem[2]"
    assert issue.message == (
        "order/data-pool.tier: order item '1' maps 'unlimited', order item '3' maps 'basic'; "
        "rule 'plans-share-a-pool' merges with 'error' (set merge: first, last, max, min or list)")


def test_explain_says_which_source_won_and_why(tmp_path):
    loaded = load_catalog(write_catalog(tmp_path / "max", _pool("max")))
    items = validate_items([plan_item("1", tier="basic"), plan_item("2", tier="unlimited")], loaded.catalog)
    shown = explain(items, loaded.catalog, "c", None, catalog_version="v").as_dict()

    pool = next(r["line"] for r in shown["items"][0]["rules"] if r["rule"] == "plans-share-a-pool")
    assert pool["attributes"]["tier"] == {
        "value": "unlimited",
        "how": "copy of tier; merged (max) from order item '1' = 'basic', order item '2' = "
               "'unlimited': order item '2' won"}
