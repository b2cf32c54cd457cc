"""Undoing what a withdrawn bundle recorded (domain/inventory.restoring_changes): recorded
with ``recorded_change`` when the ``assetize`` step wrote, restored when a cancellation or an
amendment withdraws it. Case by case, on rows as they are at the time of the undo. No I/O."""

from __future__ import annotations

import itertools

from ordertower.domain.inventory import (ACTIVE, TERMINATED, Asset, InstalledBase, InventoryItem,
                                         installed_base_changes, recorded_change, restoring_changes)

from .test_installed_base_changes import change, keep

ORDER = "O1"


def record_and_restore(base: InstalledBase, chg: dict, later=None) -> tuple[InstalledBase, InstalledBase]:
    """Record ``chg`` on ``base`` (by the recording rule), let ``later`` change the result, then
    restore: returns (after recording, after restoring)."""
    ids = itertools.count(1)
    asset = base.assets.get(chg["asset_id"])
    written = installed_base_changes(chg, asset, base.items, order_id=ORDER, customer_id="c",
                                     new_id=lambda: f"id-{next(ids)}")
    record = recorded_change(asset, base.items, written)
    recorded = base._with(written)
    now = later(recorded) if later else recorded
    every = {k: v for k, v in now.items.items()}
    undo = restoring_changes(record, now.assets.get(chg["asset_id"]), every, order_id=ORDER)
    restored = InstalledBase(now.customer_id, dict(now.assets), dict(now.items))
    if undo.asset is not None:
        restored.assets[undo.asset.asset.id] = undo.asset.asset
    for c in undo.items:
        restored.items[c.item.key] = c.item
    return recorded, restored


def shared_account(*users: str) -> InventoryItem:
    return InventoryItem("account:c/billing-account", "billing-account", {"account_id": "BA-1"}, users)


def test_an_asset_the_order_created_is_terminated_and_its_own_inventory_too():
    base = InstalledBase("c")
    recorded, restored = record_and_restore(base, change("add", keep("a1/mobile-line", tier="basic"),
                                                         tier="basic"))

    assert recorded.assets["a1"].status == ACTIVE
    assert restored.assets["a1"].status == TERMINATED
    assert restored.items["a1/mobile-line"].status == TERMINATED
    assert restored.items["a1/mobile-line"].assets == ()


def test_a_shared_item_the_order_joined_loses_only_the_orders_asset():
    base = InstalledBase("c", {}, {shared_account().key: shared_account("a0")})
    _, restored = record_and_restore(base, change("add", keep("account:c/billing-account", account_id="BA-1"),
                                                  tier="basic"))

    account = restored.items["account:c/billing-account"]
    assert account.status == ACTIVE and account.assets == ("a0",)


def test_a_shared_item_the_order_created_stays_for_an_asset_that_joined_it_since():
    def another_order_joins(now: InstalledBase) -> InstalledBase:
        account = now.items["account:c/billing-account"]
        return InstalledBase(now.customer_id, dict(now.assets),
                             dict(now.items) | {account.key: InventoryItem(
                                 account.key, account.technical_product, dict(account.attributes),
                                 account.assets + ("a9",))})

    _, restored = record_and_restore(InstalledBase("c"), change(
        "add", keep("account:c/billing-account", account_id="BA-1"), tier="basic"), later=another_order_joins)

    account = restored.items["account:c/billing-account"]
    assert account.status == ACTIVE and account.assets == ("a9",)


def test_a_modified_asset_gets_its_previous_attributes_back():
    owned = Asset("a1", "mobile-plan", {"tier": "basic", "port_number": "+316"}, ACTIVE, "c", order_id="O0")
    line = InventoryItem("a1/mobile-line", "mobile-line", {"tier": "basic", "msisdn": "+3161"}, ("a1",))
    base = InstalledBase("c", {"a1": owned}, {line.key: line})
    recorded, restored = record_and_restore(base, change(
        "modify", keep("a1/mobile-line", action="modify", tier="unlimited", msisdn="+3161"), tier="unlimited"))

    assert recorded.assets["a1"].attributes["tier"] == "unlimited"
    assert restored.assets["a1"].attributes == {"tier": "basic", "port_number": "+316"}
    assert restored.assets["a1"].status == ACTIVE
    assert restored.items["a1/mobile-line"].attributes == {"tier": "basic", "msisdn": "+3161"}
    assert restored.items["a1/mobile-line"].status == ACTIVE and restored.items["a1/mobile-line"].assets == ("a1",)


def test_an_attribute_changed_again_since_is_left_as_it_is_now():
    owned = Asset("a1", "mobile-plan", {"tier": "basic"}, ACTIVE, "c", order_id="O0")

    def changed_again(now: InstalledBase) -> InstalledBase:
        a = now.assets["a1"]
        return InstalledBase(now.customer_id, dict(now.assets) | {"a1": Asset(
            a.id, a.offering_id, {"tier": "unlimited-plus"}, a.status, a.customer_id, order_id="O0")}, dict(now.items))

    _, restored = record_and_restore(InstalledBase("c", {"a1": owned}), change("modify", tier="unlimited"),
                                     later=changed_again)

    assert restored.assets["a1"].attributes == {"tier": "unlimited-plus"}


def test_a_terminated_asset_is_active_again():
    owned = Asset("a1", "mobile-plan", {"tier": "basic"}, ACTIVE, "c", order_id="O0")
    _, restored = record_and_restore(InstalledBase("c", {"a1": owned}), change("delete", tier="basic"))

    assert restored.assets["a1"].status == ACTIVE


def test_restoring_twice_changes_nothing_more():
    base = InstalledBase("c")
    chg = change("add", keep("a1/mobile-line", tier="basic"), tier="basic")
    ids = itertools.count(1)
    written = installed_base_changes(chg, None, {}, order_id=ORDER, customer_id="c", new_id=lambda: f"{next(ids)}")
    record = recorded_change(None, {}, written)
    _, restored = record_and_restore(base, chg)

    again = restoring_changes(record, restored.assets["a1"], restored.items, order_id=ORDER)

    assert again.empty


def test_the_record_of_joining_an_item_shared_by_thousands_does_not_hold_them_all():
    """A large order's bundles all join the account's items: a record holding every user
    and trace of such an item made each record, and the order's records together, grow
    with the square of the order."""
    users = tuple(f"a{n}" for n in range(2, 5002))
    traces = tuple({"order": "O0", "line": f"L{n}", "action": "add"} for n in range(5000))
    account = InventoryItem("account:c/billing-account", "billing-account", {"account_id": "BA-1"},
                            users, ACTIVE, traces)
    chg = change("add", keep(account.key, account_id="BA-1"), tier="basic")
    written = installed_base_changes(chg, None, {account.key: account}, order_id=ORDER, customer_id="c",
                                     new_id=lambda: "id")

    record = recorded_change(None, {account.key: account}, written)

    assert len(repr(record)) < 1_000
    [entry] = record["items"]
    assert (entry["gave"], entry["took"]) == (["a1"], [])
    undo = restoring_changes(record, None, {account.key: written.items[-1].item}, order_id=ORDER)
    assert undo.items[-1].item.assets == users


def test_a_record_written_with_whole_lists_of_users_is_still_restored():
    """Records kept by assetize items before 2026-12-01 hold each item's whole row before
    and after: they restore as they did."""
    record = {"asset": None, "items": [{
        "key": "account:c/billing-account",
        "before": {"key": "account:c/billing-account", "technical_product": "billing-account",
                   "attributes": {"account_id": "BA-1"}, "assets": ["a0"], "status": ACTIVE, "lines": []},
        "after": {"key": "account:c/billing-account", "technical_product": "billing-account",
                  "attributes": {"account_id": "BA-1"}, "assets": ["a0", "a1"], "status": ACTIVE,
                  "lines": []}}]}
    now = shared_account("a0", "a1", "a9")

    undo = restoring_changes(record, None, {now.key: now}, order_id=ORDER)

    assert undo.items[-1].item.assets == ("a0", "a9")
    before = InstalledBase("c").before([record], order_id=ORDER)  # not active now: as recorded
    assert before.items[now.key].assets == ("a0",)
