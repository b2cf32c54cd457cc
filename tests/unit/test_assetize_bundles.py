"""The asset recording of a large order: each bundle's assets are found in time proportional
to the bundle (domain/inventory.bundles_of groups the order once), and from the bundle's
own items and lines alone (what a worker reads for an assetize item: engine/item_context.py;
tests/integration/test_large_order_costs.py)."""

from __future__ import annotations

from typing import Any

from ordertower.domain.inventory import asset_changes, bundles_of


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
        assert asset_changes(root, grouped.order_items(root), grouped.lines[root], _no_account) == alone
        assert [c["order_item_id"] for c in alone] == [root, f"{root}.plan"]
        assert {u["key"] for c in alone for u in c["inventory"]} == {f"dev-{root}", f"msisdn-{root}", "acct-1"}


def _with_three_instances(items, lines):
    """The order plus a router of quantity 3: three root items, instances of item "q"."""
    for n in (1, 2, 3):
        items.append({"id": f"q#{n}", "parent_id": None, "offering_id": "router", "action": "add",
                      "attributes": {}, "instance": n, "item_of": "q", "asset_id": f"asset-q{n}"})
        lines.append({"line_id": f"Lq{n}", "lineage": [f"q#{n}"], "technical_product": "cpe",
                      "action": "add", "attributes": {"serial": f"s{n}"}, "inventory_key": f"cpe-{n}"})
    return items, lines


def test_a_bundle_read_alone_gives_the_assets_the_whole_order_gives():
    items, lines = _with_three_instances(*_order(4))
    grouped = bundles_of(items, lines)
    for root in grouped.items:
        own_lines = [ln for ln in lines if ln["line_id"] in set(grouped.line_ids(root))]
        assert asset_changes(root, grouped.order_items(root), own_lines, _no_account) == \
            asset_changes(root, items, lines, _no_account)
    # the second router is grouped under the first's asset, though it is a bundle of its own
    assert [i["id"] for i in grouped.order_items("q#2")] == ["q#2", "q#1"]
    (second,) = asset_changes("q#2", grouped.order_items("q#2"), [lines[-2]], _no_account)
    assert second["instance_of"] == "asset-q1"
    assert grouped.line_ids("0") == ["L0", "L0.plan", "Lacct"]
