"""The MACD rule of completion (domain/inventory.installed_base_changes): what one asset change of a
completed bundle writes to the installed base, case by case. The store's ``record_changes``
and the in-memory ``InstalledBase.apply`` both follow it. No I/O."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ordertower.domain.inventory import (
    ACTIVE, TERMINATED, Asset, AssetInsert, AssetTerminate, AssetUpdate, InstalledBase, InstalledBaseChanges,
    InventoryItem, InventoryItemInsert, InventoryItemRelease, InventoryItemUpdate, RowsToRead,
    installed_base_changes, rows_to_read)

ORDER = "O1"


def change(action: str, *uses: dict[str, Any], asset_id: str = "a1", billing: str | None = None,
           **attributes: Any) -> dict[str, Any]:
    return {"asset_id": asset_id, "order_item_id": "1", "offering_id": "mobile-plan", "action": action,
            "attributes": attributes, "lines": ["1/mobile-line"], "billing_account_id": billing,
            "root_asset_id": None, "inventory": list(uses)}


def keep(key: str, line: str = "L1", action: str = "add", **attributes: Any) -> dict[str, Any]:
    return {"key": key, "technical_product": key.rsplit("/", 1)[-1], "attributes": attributes,
            "use": "keep", "action": action, "line_id": line}


def leave(key: str, line: str = "L1", action: str = "delete") -> dict[str, Any]:
    return {"key": key, "technical_product": key.rsplit("/", 1)[-1], "attributes": {},
            "use": "leave", "action": action, "line_id": line}


def asset(status: str = ACTIVE, order_id: str = "O0", billing: str | None = "BA-1",
          **attributes: Any) -> Asset:
    return Asset("a1", "mobile-plan", attributes or {"tier": "basic"}, status, "c", order_id=order_id,
                 order_item_id="1", lines=("1/mobile-line",), billing_account_id=billing)


def item(key: str, *users: str, status: str = ACTIVE, **attributes: Any) -> InventoryItem:
    return InventoryItem(key, key.rsplit("/", 1)[-1], attributes, users, status,
                         ({"order": "O0", "line": "L0", "action": "add"},))


def run(chg: dict[str, Any], current: Asset | None = None, *rows: InventoryItem) -> InstalledBaseChanges:
    ids = itertools.count(1)
    return installed_base_changes(chg, current, {r.key: r for r in rows}, order_id=ORDER, customer_id="c",
                                  new_id=lambda: f"id-{next(ids)}")


def trace(line: str | None = "L1", action: str | None = "delete") -> dict[str, Any]:
    return {"order": ORDER, "line": line, "action": action}


# --- the asset -----------------------------------------------------------------------------

ASSET_CASES = {
    "an added asset is inserted and announced": (
        change("add", tier="basic"), None,
        AssetInsert, {"tier": "basic"}, [("ProductCreateEvent", {"product": "a1", "offering": "mobile-plan",
                                                                 "order_item": "1"})]),
    "an asset another order added is left alone by an add": (
        change("add", tier="unlimited"), asset(order_id="O0"), None, None, []),
    "an asset its own order recorded follows the order when it is amended after": (
        change("add", tier="unlimited"), asset(order_id=ORDER, tier="basic", port="x"),
        AssetUpdate, {"tier": "unlimited"},
        [("ProductAttributeValueChangeEvent",
          {"product": "a1", "order_item": "1", "changed": ["port", "tier"]})]),
    "an add recorded again changes nothing": (
        change("add", tier="basic"), asset(order_id=ORDER, tier="basic"), None, None, []),
    "a modify merges the attributes and names those that changed": (
        change("modify", tier="unlimited"), asset(tier="basic", port="x"),
        AssetUpdate, {"tier": "unlimited", "port": "x"},
        [("ProductAttributeValueChangeEvent", {"product": "a1", "order_item": "1", "changed": ["tier"]})]),
    "a modify with nothing changed writes nothing": (
        change("modify", tier="basic"), asset(tier="basic"), None, None, []),
    "a modify that only brings a billing account updates the asset silently": (
        change("modify", billing="BA-2", tier="basic"), asset(tier="basic"),
        AssetUpdate, {"tier": "basic"}, []),
    "a modify of an asset not recorded writes no asset": (
        change("modify", tier="unlimited"), None, None, None, []),
    "a delete terminates the asset and announces it": (
        change("delete"), asset(), AssetTerminate, {"tier": "basic"},
        [("ProductStateChangeEvent", {"product": "a1", "status": TERMINATED, "order_item": "1"})]),
    "a delete of a terminated asset changes nothing": (
        change("delete"), asset(status=TERMINATED), None, None, []),
    "a delete of an asset not recorded writes no asset": (
        change("delete"), None, None, None, []),
}


@pytest.mark.parametrize("chg, current, kind, attributes, events", ASSET_CASES.values(),
                         ids=ASSET_CASES.keys())
def test_the_asset_change(chg, current, kind, attributes, events):
    result = run(chg, current)

    assert (type(result.asset) if result.asset else None) is kind
    if kind:
        assert result.asset.asset.attributes == attributes
    assert list(result.events) == events


def test_an_inserted_asset_records_its_order_item_lines_billing_account_and_bundle():
    chg = change("add", billing="BA-9", tier="basic") | {"root_asset_id": "root"}

    assert run(chg).asset.asset == Asset("a1", "mobile-plan", {"tier": "basic"}, ACTIVE, "c", "root",
                                         ORDER, "1", ("1/mobile-line",), "BA-9")


def test_a_modify_without_a_billing_account_keeps_the_one_it_had():
    result = run(change("modify", tier="unlimited"), asset(billing="BA-1"))

    assert result.asset.asset.billing_account_id == "BA-1"


def test_an_amended_add_takes_the_orders_lines():
    chg = change("add", tier="unlimited") | {"lines": ["2/mobile-line"]}

    assert run(chg, asset(order_id=ORDER)).asset.asset.lines == ("2/mobile-line",)


# --- the inventory items -------------------------------------------------------------------

LINE = "a1/mobile-line"
ACCOUNT = "account:c/billing-account"

ITEM_CASES = {
    "a kept item that is missing is inserted, used by the asset": (
        change("add", keep(LINE, tier="basic")), [],
        [(InventoryItemInsert, LINE, ("a1",), ACTIVE, {"tier": "basic"})]),
    "a kept item takes the line's attributes": (
        change("modify", keep(LINE, action="modify", tier="unlimited")), [item(LINE, "a1", tier="basic")],
        [(InventoryItemUpdate, LINE, ("a1",), ACTIVE, {"tier": "unlimited"})]),
    "a shared item kept by another asset gains it as a user": (
        change("add", keep(ACCOUNT, currency="EUR"), asset_id="a2"), [item(ACCOUNT, "a1", currency="EUR")],
        [(InventoryItemUpdate, ACCOUNT, ("a1", "a2"), ACTIVE, {"currency": "EUR"})]),
    "a terminated item kept again is active again, used by this asset only": (
        change("add", keep(ACCOUNT, currency="EUR"), asset_id="a2"),
        [item(ACCOUNT, "a1", status=TERMINATED, currency="EUR")],
        [(InventoryItemUpdate, ACCOUNT, ("a2",), ACTIVE, {"currency": "EUR"})]),
    "an item kept as it is writes nothing": (
        change("modify", keep(LINE, line="L0", tier="basic")),
        [InventoryItem(LINE, "mobile-line", {"tier": "basic"}, ("a1",), ACTIVE, (trace("L0", "add"),))],
        []),
    "an item its last user leaves is terminated": (
        change("delete", leave(LINE)), [item(LINE, "a1", tier="basic")],
        [(InventoryItemRelease, LINE, (), TERMINATED, {"tier": "basic"})]),
    "a shared item stays until its last user is disconnected": (
        change("delete", leave(ACCOUNT, action="noChange")), [item(ACCOUNT, "a1", "a2", currency="EUR")],
        [(InventoryItemRelease, ACCOUNT, ("a2",), ACTIVE, {"currency": "EUR"})]),
    "an item whose line is a delete ends even if another asset is listed": (
        change("modify", leave(ACCOUNT, action="delete")), [item(ACCOUNT, "a1", "a2", currency="EUR")],
        [(InventoryItemRelease, ACCOUNT, ("a2",), TERMINATED, {"currency": "EUR"})]),
    "leaving an item that is missing or terminated writes nothing": (
        change("delete", leave(LINE), leave("a1/sim-card")),
        [item("a1/sim-card", "a1", status=TERMINATED)], []),
    "a delete also leaves what only the asset used and no line named": (
        change("delete"), [item("a1/sim-card", "a1"), item("a10/sim-card", "a10"), item(ACCOUNT, "a1", "a2")],
        [(InventoryItemRelease, "a1/sim-card", (), TERMINATED, {})]),
    "an anchored item other bundle members still use stays after a delete": (
        change("delete", leave("a1/broadband-line", action="noChange")),
        [item("a1/broadband-line", "a1", "a3")],
        [(InventoryItemRelease, "a1/broadband-line", ("a3",), ACTIVE, {}),
         (InventoryItemRelease, "a1/broadband-line", ("a3",), ACTIVE, {})]),
}


@pytest.mark.parametrize("chg, rows, expected", ITEM_CASES.values(), ids=ITEM_CASES.keys())
def test_the_inventory_item_changes(chg, rows, expected):
    result = run(chg, None, *rows)

    assert [(type(c), c.item.key, c.item.assets, c.item.status, c.item.attributes)
            for c in result.items] == expected


def test_an_item_change_traces_the_order_and_line_that_made_it():
    result = run(change("delete", leave(LINE)), None, item(LINE, "a1"), item("a1/sim-card", "a1"))

    assert [c.item.lines[-1] for c in result.items] == [trace("L1", "delete"), trace(None, None)]
    assert result.items[0].item.lines[0] == {"order": "O0", "line": "L0", "action": "add"}


def test_an_inserted_item_gets_a_new_id_and_the_customer():
    insert = run(change("add", keep(LINE), keep(ACCOUNT))).items

    assert [(c.id, c.customer_id) for c in insert] == [("id-1", "c"), ("id-2", "c")]


def test_the_rows_to_read_are_the_asset_the_named_items_and_for_a_delete_those_anchored_to_it():
    assert rows_to_read(change("add", keep(LINE), keep(ACCOUNT), keep(LINE))) == \
        RowsToRead("a1", (LINE, ACCOUNT), False)
    assert rows_to_read(change("delete")) == RowsToRead("a1", (), True)


# --- idempotency: what was written, asked again, changes nothing ---------------------------

def written(current: Asset | None, rows: list[InventoryItem], result: InstalledBaseChanges):
    after = {r.key: r for r in rows} | {c.item.key: c.item for c in result.items}
    return (result.asset.asset if result.asset else current), list(after.values())


EVERY_CASE = ({name: (c[0], c[1], []) for name, c in ASSET_CASES.items()}
              | {name: (c[0], None, c[1]) for name, c in ITEM_CASES.items()})


@pytest.mark.parametrize("chg, current, rows", EVERY_CASE.values(), ids=EVERY_CASE.keys())
def test_recording_the_same_change_twice_changes_nothing_the_second_time(chg, current, rows):
    current, rows = written(current, rows, run(chg, current, *rows))

    assert run(chg, current, *rows).empty


# --- the in-memory model follows the same rule -----------------------------------------------

def test_the_in_memory_installed_base_applies_the_rule():
    base = InstalledBase("c", {"a1": Asset("a1", "mobile-plan", {"tier": "basic"}, customer_id="c",
                                           order_id=ORDER)},
                         {ACCOUNT: InventoryItem(ACCOUNT, "billing-account", {}, ("a1", "a2")),
                          LINE: InventoryItem(LINE, "mobile-line", {}, ("a1",))})

    amended = base.apply([change("add", tier="unlimited")], order_id=ORDER)
    gone = base.apply([change("delete", leave(ACCOUNT, action="noChange"))], order_id="O2")

    assert amended.assets["a1"].attributes == {"tier": "unlimited"}  # the drifted copy kept "basic"
    assert gone.assets["a1"].status == TERMINATED
    assert {key: i.assets for key, i in gone.items.items()} == {ACCOUNT: ("a2",)}
