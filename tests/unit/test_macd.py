"""MACD against the installed base, in the domain alone: what a customer owns decides what
each line of a later order does (add, modify, noChange, delete). No database.

The reference catalog is used throughout; `complete` records in memory what the assetize
steps would record once an order is done (with the values systems answer, like the msisdn).
"""

from __future__ import annotations

import pytest

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.errors import InvalidOrder
from ordertower.domain.inventory import InstalledBase, InventoryItem, derive_line_action

from ..support.macd import asset_of, complete, item, place

SYSTEMS_ANSWER = {"mobile-line": {"msisdn": "+31600000001"}, "billing-account": {"account_id": "BA-1"},
                  "supply-registration": {"supply_point_id": "EAN-1"}}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog().catalog


@pytest.fixture
def seed_owner(catalog):
    """A customer who owns the seed order's phone and plan."""
    base = InstalledBase.empty("cust-42")
    placed = place(catalog, base, item("1", "add", "phone", model="Fairphone 5", color="blue"),
                   item("2", "add", "mobile-plan", tier="unlimited"))
    return complete(base, placed, catalog, SYSTEMS_ANSWER)


# --- the rule itself ------------------------------------------------------------------------

INSTALLED = InventoryItem("a1/mobile-line", "mobile-line", {"tier": "basic", "msisdn": "+316"}, ("a1",))
SHARED = InventoryItem("account:c/billing-account", "billing-account", {"currency": "EUR"}, ("a1", "a2"))


@pytest.mark.parametrize("existing, mapped, keepers, leavers, action, reason", [
    (None, {"tier": "basic"}, {"a1"}, set(), "add", "new"),
    (INSTALLED, {"tier": "basic"}, {"a1"}, set(), "noChange", "unchanged"),
    (INSTALLED, {"tier": "unlimited"}, {"a1"}, set(), "modify", "changed: tier 'basic' -> 'unlimited'"),
    (INSTALLED, {}, set(), {"a1"}, "delete", "no asset uses it any more: disconnected"),
    (SHARED, {}, set(), {"a1"}, "noChange", "still used by 1 other asset: stays"),
    (SHARED, {"currency": "EUR"}, {"a3"}, set(), "noChange", "already installed: reused"),
    (SHARED, {}, set(), {"a1", "a2"}, "delete", "no asset uses it any more: disconnected"),
    (None, {}, set(), {"a1"}, "noChange", "not in the installed base: nothing to disconnect"),
], ids=["new", "same", "changed", "last-user-leaves", "shared-stays", "reuse", "all-leave", "nothing"])
def test_the_action_of_a_line_is_derived_from_the_installed_base(existing, mapped, keepers, leavers,
                                                                 action, reason):
    derived = derive_line_action(existing, mapped, set(mapped) or {"tier"}, keepers, leavers)

    assert (derived.action, derived.reason) == (action, reason)


def test_a_modified_line_keeps_what_systems_answered_and_remembers_what_it_held():
    derived = derive_line_action(INSTALLED, {"tier": "unlimited"}, {"tier"}, {"a1"}, set())

    assert derived.attributes == {"tier": "unlimited", "msisdn": "+316"}
    assert derived.previous == {"tier": "basic", "msisdn": "+316"}


# --- what must be shown ------------------------------------------------------------------------

def test_add_then_modify_changes_only_the_line_whose_mapped_attribute_changed(catalog, seed_owner):
    plan_asset = asset_of(seed_owner, "mobile-plan")
    placed = place(catalog, seed_owner, item("1", "modify", product=plan_asset, port_number="+31611112222"))
    lines = placed.by_product()

    assert {p: ln.action for p, ln in lines.items()} == {
        "billing-account": "noChange", "sim-card": "noChange", "mobile-line": "modify",
        "billing-subscription": "noChange"}
    assert lines["mobile-line"].reason == "changed: port_number None -> '+31611112222'"
    assert lines["mobile-line"].attributes["msisdn"] == "+31600000001"  # kept from the activation
    assert placed.work() == ["1/mobile-line#change"]


def test_a_tier_change_changes_the_line_and_the_billed_plan_but_not_the_sim(catalog, seed_owner):
    placed = place(catalog, seed_owner, item("1", "modify", product=asset_of(seed_owner, "mobile-plan"),
                                             tier="basic"))

    assert {p: ln.action for p, ln in placed.by_product().items()} == {
        "billing-account": "noChange", "sim-card": "noChange", "mobile-line": "modify",
        "billing-subscription": "modify"}
    assert placed.by_product()["mobile-line"].previous["speed_profile"] == "5g-300mbps"
    assert placed.plan.item("1/billing-subscription#change").depends_on == ["1/mobile-line#change"]


def test_a_change_with_nothing_relevant_changed_creates_no_plan_items(catalog, seed_owner):
    placed = place(catalog, seed_owner, item("1", "modify", product=asset_of(seed_owner, "mobile-plan"),
                                             tier="unlimited"))

    assert set(placed.actions().values()) == {"noChange"}
    assert placed.plan.items == []


def test_a_commercial_attribute_no_rule_maps_is_recorded_without_technical_work(catalog, seed_owner):
    placed = place(catalog, seed_owner, item("1", "modify", product=asset_of(seed_owner, "phone"),
                                             color="red"))

    assert set(placed.actions().values()) == {"noChange"}  # a shipment is one-off work
    assert [p.key for p in placed.plan.items] == ["assetize/1"]
    after = complete(seed_owner, placed, catalog)
    assert after.assets[asset_of(seed_owner, "phone")].attributes == {"model": "Fairphone 5", "color": "red"}


def test_disconnecting_one_of_two_assets_that_share_an_account_item_keeps_the_shared_item(catalog, seed_owner):
    phone = asset_of(seed_owner, "phone")
    placed = place(catalog, seed_owner, item("1", "delete", product=phone))
    account = placed.by_product()["billing-account"]

    assert (account.action, account.reason) == ("noChange", "still used by 1 other asset: stays")
    assert placed.work() == []
    after = complete(seed_owner, placed, catalog)
    assert after.assets[phone].status == "terminated"
    assert after.items["account:cust-42/billing-account"].assets == (asset_of(seed_owner, "mobile-plan"),)

    last = place(catalog, after, item("1", "delete", product=asset_of(after, "mobile-plan")))
    assert {p: ln.action for p, ln in last.by_product().items()} == {
        "billing-account": "delete", "sim-card": "delete", "mobile-line": "delete",
        "billing-subscription": "delete"}
    assert last.by_product()["billing-account"].attributes["account_id"] == "BA-1"  # to close it
    assert last.plan.item("account:cust-42/billing-account#close").depends_on == [
        "1/billing-subscription#stop"]
    assert "account:cust-42/billing-account" not in complete(after, last, catalog).items


def test_adding_to_an_existing_account_reuses_the_account_item(catalog, seed_owner):
    placed = place(catalog, seed_owner, item("9", "add", "mobile-plan", tier="basic"))
    account = placed.by_product()["billing-account"]

    assert (account.action, account.reason) == ("noChange", "already installed: reused")
    assert account.attributes["account_id"] == "BA-1"  # the new asset is billed on it
    assert "account:cust-42/billing-account#open" not in placed.work()
    assert placed.plan.item("9/billing-subscription#start").depends_on == ["9/mobile-line#activate"]
    after = complete(seed_owner, placed, catalog)
    assert len(after.items["account:cust-42/billing-account"].assets) == 3


def test_add_then_no_change_never_yields_modify(catalog, seed_owner):
    for offering, attrs in (("phone", {"model": "Fairphone 5", "color": "blue"}),
                            ("mobile-plan", {"tier": "unlimited"})):
        placed = place(catalog, seed_owner, item("1", "modify", product=asset_of(seed_owner, offering),
                                                 **attrs))
        assert "modify" not in placed.actions().values()


def test_a_modify_without_an_offering_takes_it_from_the_asset(catalog, seed_owner):
    placed = place(catalog, seed_owner, item("1", "modify", product=asset_of(seed_owner, "mobile-plan"),
                                             tier="basic"))

    assert placed.items[0].offering_id == "mobile-plan"


@pytest.mark.parametrize("inputs, location, message", [
    ([item("1", "modify", product="nope", tier="basic")], "productOrderItem[0].product.id",
     "no product 'nope' in the inventory of customer 'cust-42'"),
    ([item("1", "modify", "phone", product="PLAN", model="X")], "productOrderItem[0].productOffering.id",
     "is a 'mobile-plan', not a 'phone'"),
    ([item("1", "delete", product="PLAN"), item("2", "modify", product="PLAN", tier="basic")],
     "productOrderItem[1].product.id", "is also changed by productOrderItem[0]"),
    ([item("1", "delete", product="PHONE-GONE")], "productOrderItem[0].product.id", "is terminated"),
], ids=["unknown", "other-offering", "named-twice", "terminated"])
def test_the_assets_an_order_changes_are_checked(catalog, seed_owner, inputs, location, message):
    plan, phone = asset_of(seed_owner, "mobile-plan"), asset_of(seed_owner, "phone")
    gone = complete(seed_owner, place(catalog, seed_owner, item("1", "delete", product=phone)), catalog)
    ids = {"PLAN": plan, "PHONE-GONE": phone}
    inputs = [i.__class__(**{**i.__dict__, "product_id": ids.get(i.product_id, i.product_id)}) for i in inputs]

    with pytest.raises(InvalidOrder) as refused:
        place(catalog, gone, *inputs)

    [issue] = refused.value.issues
    assert issue.location == location and message in issue.message


# --- conditions over time: a rule that holds now, or no longer does ---------------------------

def _electricity(**attrs):
    return item("1", "add", "electricity-supply", **({"tariff": "fixed", "supply_start": "2026-03-01",
                                                       "address": "Main St 1"} | attrs))


@pytest.mark.parametrize("meter_type, has_meter_install", [("smart", True), ("standard", False)])
def test_energy_installs_a_meter_only_for_smart_meters(catalog, meter_type, has_meter_install):
    placed = place(catalog, InstalledBase.empty("c"), _electricity(meter_type=meter_type))
    products = set(placed.by_product())

    assert ("meter-install" in products) is has_meter_install
    assert {"supply-registration", "billing-subscription", "billing-account"} <= products
    assert ("1/meter-install#install" in placed.work()) is has_meter_install


def test_a_condition_that_no_longer_holds_disconnects_and_one_that_now_holds_adds(catalog):
    base = InstalledBase.empty("c")
    base = complete(base, place(catalog, base, _electricity(meter_type="smart")), catalog, SYSTEMS_ANSWER)
    supply = asset_of(base, "electricity-supply")

    to_standard = place(catalog, base, item("1", "modify", product=supply, meter_type="standard"))
    assert to_standard.actions()["1/meter-install"] == "delete"
    assert to_standard.work() == ["1/meter-install#remove"]
    base = complete(base, to_standard, catalog)
    assert f"{supply}/meter-install" not in base.items

    back = place(catalog, base, item("1", "modify", product=supply, meter_type="smart"))
    assert back.actions()["1/meter-install"] == "add"


def test_a_move_is_a_move_out_of_the_old_address_then_a_move_in_at_the_new(catalog):
    base = InstalledBase.empty("c")
    base = complete(base, place(catalog, base, _electricity(meter_type="smart")), catalog, SYSTEMS_ANSWER)
    supply = asset_of(base, "electricity-supply")

    move = place(catalog, base, item("1", "modify", product=supply, address="Elm St 2",
                                     supply_start="2026-06-01"))
    registration = move.by_product()["supply-registration"]

    assert registration.action == "modify"
    assert registration.previous["address"] == "Main St 1"
    assert registration.attributes["supply_point_id"] == "EAN-1"
    assert move.plan.item("1/supply-registration#move-in").depends_on == ["1/supply-registration#move-out"]
    assert move.by_product()["meter-install"].action == "modify"  # a smart meter at the new address
    assert move.by_product()["billing-subscription"].action == "noChange"  # same tariff


def test_a_bundles_shared_router_follows_its_root_not_a_child_changed_alone(catalog):
    """Two broadband lines in one bundle share a router (root scope), mapped from the root."""
    base = InstalledBase.empty("c")
    placed = place(catalog, base, item("B", "add", "broadband", speed_mbps="100", address="Main 1"),
                   item("C", "add", "broadband", parent="B", speed_mbps="100", address="Annex 1"))
    base = complete(base, placed, catalog)
    root, child = (i.asset_id for i in placed.items)

    same = place(catalog, base, item("1", "modify", product=child, speed_mbps="100"))
    assert same.plan.items == []

    faster_child = place(catalog, base, item("1", "modify", product=child, speed_mbps="1000"))
    assert faster_child.actions()["1/internet-access/broadband-line"] == "modify"
    assert faster_child.actions()["1/cpe-router"] == "noChange"  # the root's mapping stands

    faster_root = place(catalog, base, item("1", "modify", product=root, speed_mbps="1000"))
    assert faster_root.by_product()["cpe-router"].reason == "changed: model 'wifi6' -> 'wifi7-pro'"

    both = place(catalog, base, item("1", "modify", product=root, speed_mbps="100"),
                 item("2", "modify", product=child, speed_mbps="100"))
    routers = [ln for ln in both.lines if ln.technical_product == "cpe-router"]
    assert [(r.id, r.lineage, r.action) for r in routers] == [("1/cpe-router", ["1", "2"], "noChange")]
