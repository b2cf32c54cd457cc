"""The asset recording of a large order: each bundle's assets are found in time proportional
to the bundle (domain/inventory.bundles_of groups the order once), and the assetize items
of one claim, which share their order's items and lines, group them once between them
(engine/auto_steps.py), while a later claim's fresh lines are grouped afresh."""

from __future__ import annotations

from typing import Any

from ordertower.domain.inventory import asset_changes, bundles_of
from ordertower.domain.item_spec import ItemSpec
from ordertower.engine import auto_steps
from ordertower.engine.auto_steps import assetize, step_context


def _order(bundles: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``bundles`` phones with a plan each (a root item and its child), a line for each item,
    and one billing account line that every bundle shares."""
    items, lines = [], []
    for n in range(bundles):
        root, child = f"{n}", f"{n}.plan"
        items += [{"id": root, "parent_id": None, "offering_id": "phone", "action": "add",
                   "attributes": {"model": f"m{n}"}},
                  {"id": child, "parent_id": root, "offering_id": "plan", "action": "add",
                   "attributes": {"tariff": "s"}}]
        lines += [{"line_id": f"L{root}", "lineage": [root], "technical_product": "device",
                   "action": "add", "attributes": {"imei": f"i{n}"}, "inventory_key": f"dev-{n}"},
                  {"line_id": f"L{child}", "lineage": [child], "technical_product": "line",
                   "action": "add", "attributes": {"msisdn": f"4670{n}"}, "inventory_key": f"msisdn-{n}"}]
    lines.append({"line_id": "Lacct", "lineage": [f"{n}" for n in range(bundles)],
                  "technical_product": "account", "action": "add", "attributes": {"account": "A1"},
                  "inventory_key": "acct-1"})
    return items, lines


def _no_account(_lines):
    return None


def test_the_assets_of_each_bundle_are_the_same_from_the_grouped_order_as_from_the_whole():
    items, lines = _order(5)
    grouped = bundles_of(items, lines)
    assert sorted(grouped.items) == ["0", "1", "2", "3", "4"]
    assert [ln["line_id"] for ln in grouped.lines["3"]] == ["L3", "L3.plan", "Lacct"]
    for root in grouped.items:
        alone = asset_changes(root, items, lines, _no_account)
        assert asset_changes(root, items, lines, _no_account, grouped) == alone
        assert [c["order_item_id"] for c in alone] == [root, f"{root}.plan"]
        assert {u["key"] for c in alone for u in c["inventory"]} == {f"dev-{root}", f"msisdn-{root}", "acct-1"}


def _assetize(order: dict[str, Any], lines: list[dict[str, Any]], root: str):
    item = {"id": f"a-{root}", "key": f"assetize/{root}", "name": "Record assets", "attempts": 1,
            "system": None, "spec": ItemSpec(step="assetize", root_item_id=root)}
    return assetize(step_context(order, item, None, lines))


def test_the_assetize_items_of_one_claim_group_their_order_once_and_a_later_claim_afresh(monkeypatch):
    calls = []

    def counting(order_items, lines):
        calls.append(len(lines))
        return bundles_of(order_items, lines)
    monkeypatch.setattr(auto_steps, "bundles_of", counting)
    items, lines = _order(50)
    order = {"id": "o1", "external_id": None, "customer_id": "c1", "items": items}

    first = [_assetize(order, lines, str(n)) for n in range(50)]
    assert len(calls) == 1  # one claim, its 50 bundles: grouped once
    assert all(result.output == {"assets": 2} for result in first)

    # the next claim reads the lines again (a callout of bundle 7 changed its device since)
    fresh = [ln | {"attributes": {"imei": "new"}} if ln["line_id"] == "L7" else ln for ln in lines]
    again = _assetize(order, fresh, "7")
    assert len(calls) == 2
    device = next(u for c in again.assets for u in c["inventory"] if u["key"] == "dev-7")
    assert device["attributes"] == {"imei": "new"}
