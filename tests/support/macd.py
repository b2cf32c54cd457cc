"""Orders through the pure domain, completed in memory: validate, decompose against an
installed base, plan, then apply what the assetize steps would record. No database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ordertower.domain.catalog import Catalog
from ordertower.domain.decomposition import Decomposition, FulfillmentLine, decompose
from ordertower.domain.inventory import InstalledBase, asset_changes
from ordertower.domain.orders import (ItemInput, OrderItem, root_of, roots_with_asset_changes,
                                      validate_items, with_asset_ids)
from ordertower.domain.planning import Plan, build_plan

_ids = itertools.count(1)


def item(item_id: str, action: str, offering: str | None = None, product: str | None = None,
         parent: str | None = None, **attributes: Any) -> ItemInput:
    return ItemInput(item_id, action, offering, tuple(attributes.items()), product_id=product,
                     parent_id=parent)


@dataclass
class Placed:
    items: list[OrderItem]
    decomposition: Decomposition
    plan: Plan
    order_id: str = "O"

    @property
    def lines(self) -> list[FulfillmentLine]:
        return self.decomposition.lines

    def by_product(self) -> dict[str, FulfillmentLine]:
        return {ln.technical_product: ln for ln in self.lines}

    def actions(self) -> dict[str, str]:
        return {ln.id: ln.action for ln in self.lines}

    def work(self) -> list[str]:
        """The plan items' keys, assetize items left out."""
        return [p.key for p in self.plan.items if not p.key.startswith("assetize/")]


def place(catalog: Catalog, base: InstalledBase, *inputs: ItemInput, order_id: str = "O") -> Placed:
    items = with_asset_ids(validate_items(list(inputs), catalog, base), lambda: f"asset-{next(_ids)}")
    decomposition = decompose(items, catalog, base.customer_id, base, order_id=order_id)
    parents = {i.id: i.parent_id for i in items}
    roots = sorted({root_of(i.id, parents) for i in items if i.offering_id})
    plan = build_plan(decomposition, catalog, roots, asset_roots=roots_with_asset_changes(items, base))
    return Placed(items, decomposition, plan, order_id)


def complete(base: InstalledBase, placed: Placed, catalog: Catalog,
             outputs: dict[str, dict[str, Any]] | None = None) -> InstalledBase:
    """The installed base once every plan item is done: ``outputs`` (per technical product)
    are what the systems answered, written to the lines as callouts' outputs are. The
    assetize steps' changes are applied by production's rule (``installed_base_changes``)."""
    lines = []
    for ln in placed.lines:
        row = ln.as_dict() | {"line_id": ln.id}
        if ln.action in ("add", "modify"):
            row["attributes"] = row["attributes"] | (outputs or {}).get(ln.technical_product, {})
        lines.append(row)
    stored = [i.as_dict() for i in placed.items]
    account = next((tp for tp in catalog.technical_products if tp.billing_account_id), None)

    def billing(realizing: list[dict[str, Any]]) -> str | None:
        for ln in realizing:
            if account and ln["technical_product"] == account.id:
                return ln["attributes"].get(account.billing_account_id)
        return None

    roots = sorted({p.spec.root_item_id for p in placed.plan.items if p.step_id == "assetize"})
    changes = [c for root in roots for c in asset_changes(root, stored, lines, billing)]
    return base.apply(changes, order_id=placed.order_id)


def asset_of(base: InstalledBase, offering: str, status: str = "active") -> str:
    return next(a.id for a in base.assets.values() if a.offering_id == offering and a.status == status)
