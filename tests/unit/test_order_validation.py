"""Order items against the catalog (``ordertower.domain.orders.validate_items``): pure, no I/O.

Validation applies defaults, brings every attribute to its declared type, and reports every
problem of an order at once, each at its TMF622 path
(``productOrderItem[1].product.productCharacteristic[0].value``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.catalog import Catalog
from ordertower.domain.errors import InvalidOrder, Issue
from ordertower.domain.orders import ItemInput, OrderItem, validate_items


@pytest.fixture(scope="module")
def reference() -> Catalog:
    return load_catalog().catalog


@pytest.fixture(scope="module")
def typed() -> Catalog:
    """A small catalog with one attribute of every type."""
    return Catalog.model_validate({"products": [{
        "id": "meter-service",
        "attributes": [
            {"name": "readings_per_day", "type": "integer", "required": True},
            {"name": "unit_price", "type": "decimal"},
            {"name": "start", "type": "date"},
            {"name": "smart", "type": "boolean", "default": False},
            {"name": "label", "type": "string"},
            {"name": "tariff", "type": "enum", "values": ["fixed", "variable", "green"],
             "default": "fixed"},
        ]}]})


def item(id_: str = "1", offering: str | None = "phone", action: str = "add",
         product_id: str | None = None, parent_id: str | None = None,
         **characteristics: Any) -> ItemInput:
    return ItemInput(id=id_, action=action, offering_id=offering,
                     characteristics=tuple(characteristics.items()),
                     product_id=product_id, parent_id=parent_id)


def meter(**characteristics: Any) -> ItemInput:
    return item("1", "meter-service", **({"readings_per_day": 1} | characteristics))


def issues_of(inputs: list[ItemInput], catalog: Catalog) -> list[Issue]:
    with pytest.raises(InvalidOrder) as refused:
        validate_items(inputs, catalog)
    assert refused.value.kind == "invalid-order"
    return refused.value.issues


# --- a valid order ---------------------------------------------------------------------------

def test_the_seed_items_validate_to_typed_order_items(reference):
    items = validate_items([item("1", "phone", model="Fairphone 5", color="blue"),
                            item("2", "mobile-plan", tier="unlimited")], reference)

    assert items == [
        OrderItem("1", "add", "phone", {"model": "Fairphone 5", "color": "blue"}),
        OrderItem("2", "add", "mobile-plan", {"tier": "unlimited"}),
    ]


def test_a_phone_without_a_color_gets_the_default_black(reference):
    [phone] = validate_items([item("1", "phone", model="Fairphone 5")], reference)

    assert phone.attributes == {"model": "Fairphone 5", "color": "black"}


def test_an_optional_attribute_without_a_default_is_left_out(reference):
    [plan] = validate_items([item("1", "mobile-plan", tier="basic")], reference)

    assert plan.attributes == {"tier": "basic"}  # no port_number


def test_a_modify_carries_only_what_it_changes_no_defaults_and_no_required(reference):
    [change] = validate_items([item("1", "phone", "modify", product_id="asset-7", color="red")],
                              reference)

    assert change.attributes == {"color": "red"}
    assert change.product_id == "asset-7"


def test_an_item_without_an_offering_passes_validation_with_nothing_to_provide(reference):
    [bare] = validate_items([item("1", offering=None)], reference)

    assert bare.offering_id is None and bare.attributes == {}


def test_a_validated_item_survives_its_stored_form(reference):
    items = validate_items([item("1", "phone", model="X"),
                            item("2", "mobile-plan", parent_id="1", tier="basic")], reference)

    assert [OrderItem.from_dict(i.as_dict()) for i in items] == items


# --- typed coercion -----------------------------------------------------------------------

@pytest.mark.parametrize("name,raw,expected", [
    ("readings_per_day", 24, 24),
    ("readings_per_day", "24", 24),
    ("readings_per_day", " -3 ", -3),
    ("readings_per_day", 24.0, 24),
    ("unit_price", "9.90", 9.9),
    ("unit_price", 3, 3.0),
    ("unit_price", 0.25, 0.25),
    ("start", "2026-12-01", "2026-12-01"),
    ("start", " 2026-12-01 ", "2026-12-01"),
    ("start", date(2026, 12, 1), "2026-12-01"),
    ("smart", True, True),
    ("smart", "true", True),
    ("smart", "FALSE", False),
    ("label", 42, "42"),
    ("tariff", "green", "green"),
])
def test_a_value_is_brought_to_its_declared_type(typed, name, raw, expected):
    [validated] = validate_items([meter(**{name: raw})], typed)

    assert validated.attributes[name] == expected
    assert type(validated.attributes[name]) is type(expected)


@pytest.mark.parametrize("name,raw,says", [
    ("readings_per_day", "4.5", "expected an integer"),
    ("readings_per_day", 4.5, "expected an integer"),
    ("readings_per_day", True, "boolean"),
    ("readings_per_day", "twelve", "expected an integer"),
    ("unit_price", "abc", "expected a number"),
    ("unit_price", "NaN", "expected a number"),
    ("unit_price", "Infinity", "expected a number"),
    ("unit_price", False, "boolean"),
    ("start", "2026-13-01", "expected a date"),
    ("start", "next monday", "expected a date"),
    ("start", 20261201, "expected a date"),
    ("smart", "yes", "expected true or false"),
    ("smart", 1, "expected true or false"),
    ("label", {"text": "x"}, "expected a string"),
    ("label", ["x"], "expected a string"),
    ("tariff", "gold", "expected one of fixed, variable, green"),
    ("tariff", None, "a value is required"),
])
def test_a_value_of_the_wrong_type_is_refused_at_its_path_naming_the_attribute(typed, name, raw, says):
    [issue] = issues_of([meter(**{name: raw})], typed)

    index = 1 if name != "readings_per_day" else 0
    assert issue.location == f"productOrderItem[0].product.productCharacteristic[{index}].value"
    assert issue.message.startswith(f"{name}: ")
    assert says in issue.message


def test_defaults_are_typed_like_given_values(typed):
    [validated] = validate_items([meter()], typed)

    assert validated.attributes == {"readings_per_day": 1, "smart": False, "tariff": "fixed"}


# --- every issue at once, at its TMF622 path -----------------------------------------------

def test_two_bad_items_give_two_issues_each_at_its_own_item(reference):
    issues = issues_of([item("1", "phone", model="X", color="gold"),
                        item("2", "mobile-plan", tier="gold")], reference)

    assert [i.location for i in issues] == [
        "productOrderItem[0].product.productCharacteristic[1].value",
        "productOrderItem[1].product.productCharacteristic[0].value",
    ]
    assert "color" in issues[0].message and "gold" in issues[0].message
    assert "tier" in issues[1].message and "basic, unlimited, unlimited-plus" in issues[1].message


def test_every_kind_of_issue_in_one_order_is_reported_together(reference):
    issues = issues_of([
        item("1", "tamagotchi"),
        item("2", "phone", colour="red"),  # unknown name, and the required model is missing
        item("3", "mobile-plan", "upgrade", tier="basic"),
        item("3", "mobile-plan", tier="basic"),
        item("5", "phone", "delete"),
        item("6", "mobile-plan", parent_id="99", tier="basic"),
        item("7", offering=None, color="red"),
    ], reference)

    assert [i.location for i in issues] == [
        "productOrderItem[3].id",
        "productOrderItem[0].productOffering.id",
        "productOrderItem[1].product.productCharacteristic[0].name",
        "productOrderItem[1].product.productCharacteristic",
        "productOrderItem[2].action",
        "productOrderItem[4].product.id",
        "productOrderItem[5].productOrderItemRelationship",
        "productOrderItem[6].productOffering",
    ]


@pytest.mark.parametrize("inputs,location,says", [
    ([], "productOrderItem", "at least one item"),
    ([item("1", "tamagotchi")], "productOrderItem[0].productOffering.id",
     "unknown product offering 'tamagotchi' (known: broadband, electricity-supply, gas-supply, mobile-plan, phone)"),
    ([item("1", "phone", model="X", colour="red")],
     "productOrderItem[0].product.productCharacteristic[1].name",
     "'colour' is not an attribute of 'phone' (declared: model, color)"),
    ([item("1", "phone", color="red")], "productOrderItem[0].product.productCharacteristic",
     "'model' is required for 'phone'"),
    ([item("1", "phone", model="X"), item("1", "phone", model="Y")], "productOrderItem[1].id",
     "duplicate item id '1' (also productOrderItem[0])"),
    ([item("1", "phone", "upgrade")], "productOrderItem[0].action",
     "unknown action 'upgrade' (expected add, modify, delete, noChange)"),
    ([item("1", "phone", "modify", color="red")], "productOrderItem[0].product.id",
     "a 'modify' item names the asset it changes in product.id"),
    ([item("1", "phone", model="X", parent_id="9")], "productOrderItem[0].productOrderItemRelationship",
     "refers to unknown order item '9'"),
])
def test_the_issue_names_the_tmf622_path_and_says_what_is_wrong(reference, inputs, location, says):
    [issue] = issues_of(inputs, reference)

    assert issue.location == location
    assert says in issue.message


def test_a_bad_value_for_a_required_attribute_is_one_issue_not_also_missing(reference):
    [issue] = issues_of([item("1", "phone", model={"brand": "Fairphone"})], reference)

    assert issue.location == "productOrderItem[0].product.productCharacteristic[0].value"
    assert issue.message.startswith("model: expected a string")


def test_an_attribute_given_twice_is_refused_even_when_the_first_value_was_bad(reference):
    inputs = [ItemInput("1", "add", "phone", (("model", ["X"]), ("model", "Fairphone 5")))]

    issues = issues_of(inputs, reference)

    assert [(i.location, i.message.split(":")[0]) for i in issues] == [
        ("productOrderItem[0].product.productCharacteristic[0].value", "model"),
        ("productOrderItem[0].product.productCharacteristic[1].name", "'model' is given twice"),
    ]


def test_the_refusal_reads_as_one_sentence_listing_every_issue(reference):
    with pytest.raises(InvalidOrder) as refused:
        validate_items([item("1", "tamagotchi"), item("2", "mobile-plan", tier="gold")], reference)

    text = str(refused.value)
    assert text.startswith("The order is not valid for the catalog.")
    assert "productOrderItem[0].productOffering.id: unknown product offering" in text
    assert "productOrderItem[1].product.productCharacteristic[0].value: tier:" in text


def test_a_decimal_attribute_refuses_non_finite_numbers():
    from ordertower.domain.catalog import Attribute, coerce_value

    amount = Attribute(name="amount", type="decimal")
    for bad in (float("nan"), float("inf"), float("-inf"), "NaN", "Infinity"):
        with pytest.raises(ValueError):
            coerce_value(amount, bad)
    assert coerce_value(amount, "12.50") == 12.5
