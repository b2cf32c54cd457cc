"""Replaying stored orders with a new catalog (domain/catalog_replay.py, the dry run of
``catalog deploy``): what differs is the catalog's doing alone, grouped by rule."""

from __future__ import annotations

from itertools import count

import pytest

from ordertower.adapters.catalog_files import load_catalog
from ordertower.adapters.catalog_texts import load_catalog_texts, read_catalog_texts
from ordertower.adapters.catalog_files import REFERENCE_CATALOG
from ordertower.domain.catalog_replay import StoredOrder, replay
from ordertower.domain.inventory import InstalledBase
from ordertower.domain.orders import ItemInput, validate_items, with_asset_ids

CURRENT = load_catalog().catalog
PHONE = ItemInput("1", "add", "phone", (("model", "Fairphone 5"), ("color", "blue")))
ids = count()


def plan(tier: str) -> ItemInput:
    return ItemInput("2", "add", "mobile-plan", (("tier", tier),))


def stored(order_id: str, *inputs: ItemInput) -> StoredOrder:
    installed = InstalledBase.empty("cust-1")
    items = with_asset_ids(validate_items(list(inputs), CURRENT, installed), lambda: f"a{next(ids)}")
    return StoredOrder(order_id, "cust-1", [i.as_dict() for i in items], installed)


def variant(old: str, new: str, file: str = "telecom.yaml"):
    texts = read_catalog_texts(REFERENCE_CATALOG)
    assert old in texts[file]
    texts[file] = texts[file].replace(old, new, 1)
    return load_catalog_texts(texts).catalog


ORDERS = [stored("o-basic", PHONE, plan("basic")), stored("o-unlimited", PHONE, plan("unlimited")),
          stored("o-phone", PHONE)]


def test_the_same_catalog_changes_nothing():
    report = replay(ORDERS, CURRENT, load_catalog().catalog)
    assert (report.replayed, report.changes) == (3, [])


def test_a_changed_mapping_reports_the_orders_and_lines_it_touches_under_its_rule():
    faster = variant("unlimited: 5g-300mbps", "unlimited: 5g-500mbps")
    report = replay(ORDERS, CURRENT, faster).as_dict()
    assert report["orders_changed"] == 1
    assert [(r["rule"], r["orders"], r["lines_changed"]) for r in report["rules"]] == [
        ("plan-activates-line", ["o-unlimited"], 1)]
    [line] = report["orders"][0]["lines_changed"]
    assert (line["technical_product"], line["attributes"]) == (
        "mobile-line", {"speed_profile": ["5g-300mbps", "5g-500mbps"]})


def test_a_value_no_longer_allowed_refuses_the_orders_that_use_it():
    no_blue = variant("values: [black, white, blue, red]", "values: [black, white, red]")
    basic_only = [stored("o-red", ItemInput("1", "add", "phone", (("model", "X"), ("color", "red"))))]
    report = replay(ORDERS + basic_only, CURRENT, no_blue).as_dict()
    assert sorted(r["order"] for r in report["orders_refused"]) == ["o-basic", "o-phone", "o-unlimited"]
    assert all("color" in r["reason"] for r in report["orders_refused"])
    assert report["orders_replayed"] == 4


def test_a_changed_scenario_reports_its_plan_items():
    new_path = variant("path: /lines/activate\n", "path: /lines/activate-v2\n")
    report = replay(ORDERS, CURRENT, new_path).as_dict()
    changed = {o["order"]: [i["key"] for i in o["plan_items_changed"]] for o in report["orders"]}
    assert set(changed) == {"o-basic", "o-unlimited"}
    assert all(len(keys) == 1 and keys[0].endswith("#activate") for keys in changed.values())
    assert not any(o["lines_changed"] for o in report["orders"])


@pytest.mark.parametrize("name", ["../x.yaml", "x.txt", ".hidden.yaml", ""])
def test_catalog_texts_with_a_bad_file_name_are_refused(name):
    from ordertower.adapters.catalog_files import CatalogLoadError

    with pytest.raises(CatalogLoadError, match="plain name"):
        load_catalog_texts({name: "version: '1'\n"})
