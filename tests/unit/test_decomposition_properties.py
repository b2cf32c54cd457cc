"""Properties of decomposition over random valid orders of the reference catalog (hypothesis):
it is deterministic, total (never raises, and the reference catalog can plan every line it
makes), every line has lineage to the order's items, and an order that asks for what the
customer already has never yields a change."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.catalog import Attribute
from ordertower.domain.decomposition import decompose
from ordertower.domain.inventory import InstalledBase
from ordertower.domain.orders import ItemInput

from ..support.macd import complete, place

CATALOG = load_catalog().catalog
PRODUCTS = [p.id for p in CATALOG.products]
# HYPOTHESIS_EXAMPLES=1000 for a longer search
SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def attribute_value(attr: Attribute) -> st.SearchStrategy[Any]:
    if attr.type == "enum":
        return st.sampled_from(attr.values or ())
    if attr.type == "integer":
        return st.integers(-10**6, 10**6)
    if attr.type == "decimal":
        return st.floats(-1e6, 1e6, allow_nan=False)
    if attr.type == "boolean":
        return st.booleans()
    if attr.type == "date":
        return st.dates(date(2020, 1, 1), date(2035, 12, 31)).map(date.isoformat)
    return st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=12)


@st.composite
def characteristics(draw, offering: str, everything: bool = True) -> tuple[tuple[str, Any], ...]:
    product = CATALOG.product_by_id[offering]
    chosen = [a for a in product.attributes
              if (everything and a.required) or draw(st.booleans())]
    return tuple((a.name, draw(attribute_value(a))) for a in chosen)


@st.composite
def add_orders(draw) -> list[ItemInput]:
    """1 to 6 items of any products; some are children of an earlier item (bundles)."""
    n = draw(st.integers(1, 6))
    items: list[ItemInput] = []
    for i in range(n):
        offering = draw(st.sampled_from(PRODUCTS))
        parent = draw(st.one_of(st.none(), st.sampled_from([it.id for it in items]))) if items else None
        items.append(ItemInput(f"i{i}", "add", offering, draw(characteristics(offering)), parent_id=parent))
    return items


@st.composite
def changes_to(draw, base: InstalledBase) -> list[ItemInput]:
    """modify, delete or noChange items for some of the customer's active assets."""
    active = sorted(a.id for a in base.assets.values() if a.status == "active")
    chosen = draw(st.lists(st.sampled_from(active), unique=True, max_size=len(active))) if active else []
    items = []
    for n, asset_id in enumerate(chosen):
        action = draw(st.sampled_from(["modify", "delete", "noChange"]))
        offering = base.assets[asset_id].offering_id
        attrs = draw(characteristics(offering, everything=False)) if action == "modify" else ()
        items.append(ItemInput(f"c{n}", action, None, attrs, product_id=asset_id))
    return items


def check(placed, items: list[ItemInput]) -> None:
    ids = {i.id for i in items}
    for line in placed.lines:
        assert line.lineage, f"{line.id} has no lineage"
        assert set(line.lineage) <= ids
        assert set(line.root_item_ids) <= ids
        assert line.action in ("add", "modify", "delete", "noChange")


@SETTINGS
@given(add_orders())
def test_decomposition_of_any_valid_order_is_total_deterministic_and_has_lineage(items):
    base = InstalledBase.empty("c")
    first = place(CATALOG, base, *items)  # decomposes and plans; raises if anything is not total
    again = decompose(first.items, CATALOG, "c", base, order_id="O")

    assert [ln.as_dict() for ln in first.lines] == [ln.as_dict() for ln in again.lines]
    check(first, items)
    assert {ln.action for ln in first.lines} == {"add"}


@SETTINGS
@given(add_orders(), st.data())
def test_any_change_to_what_a_customer_owns_decomposes_totally_with_lineage(items, data):
    base = InstalledBase.empty("c")
    owned = complete(base, place(CATALOG, base, *items), CATALOG)
    change = data.draw(changes_to(owned))
    if not change:
        return
    placed = place(CATALOG, owned, *change)
    again = decompose(placed.items, CATALOG, "c", owned, order_id="O")

    assert [ln.as_dict() for ln in placed.lines] == [ln.as_dict() for ln in again.lines]
    check(placed, change)
    complete(owned, placed, CATALOG)  # the installed base takes the change


@SETTINGS
@given(add_orders())
def test_asking_again_for_what_was_added_never_yields_a_change(items):
    base = InstalledBase.empty("c")
    first = place(CATALOG, base, *items)
    owned = complete(base, first, CATALOG)
    same = [ItemInput(f"m{n}", "modify", None, tuple(item.attributes.items()), product_id=item.asset_id)
            for n, item in enumerate(first.items)]
    placed = place(CATALOG, owned, *same)

    assert {ln.action for ln in placed.lines} <= {"noChange"}
    assert placed.plan.items == []


@SETTINGS
@given(add_orders(), st.data())
def test_an_item_of_quantity_n_is_n_times_what_one_makes_and_n_assets(items, data):
    """Any valid order, some of its childless items asked for 1 to 3 times: each instance
    makes exactly the item-scope lines the item makes alone, and completes as its own asset."""
    parents = {i.parent_id for i in items}
    quantities = {i.id: data.draw(st.integers(1, 3)) if i.id not in parents else 1 for i in items}
    many = [ItemInput(i.id, i.action, i.offering_id, i.characteristics, parent_id=i.parent_id,
                      quantity=quantities[i.id]) for i in items]
    base = InstalledBase.empty("c")
    once, placed = place(CATALOG, base, *items), place(CATALOG, base, *many)

    def own_lines(lines, item_id):
        return sorted(ln.id.split("/", 1)[1] for ln in lines if ln.scope == "item" and ln.lineage == [item_id])

    for item in items:
        made = [i.id for i in placed.items if (i.item_of or i.id) == item.id]
        assert len(made) == quantities[item.id]
        for instance in made:
            assert own_lines(placed.lines, instance) == own_lines(once.lines, item.id)
    owned = complete(base, placed, CATALOG)
    assert len(owned.assets) == sum(quantities.values())
