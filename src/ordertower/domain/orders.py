"""Commercial orders as the domain sees them, and their validation against the catalog.

The TMF622 representation is parsed by the API; what reaches the domain is a list of
``ItemInput``. Validation reports every problem at once, each naming its field with the
TMF622 path (``productOrderItem[1].product.productCharacteristic[0].value``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import ACTIONS, Catalog, coerce_value
from .errors import InvalidOrder, Issue


@dataclass(frozen=True)
class ItemInput:
    """An order item as received, before validation."""

    id: str
    action: str
    offering_id: str | None = None
    characteristics: tuple[tuple[str, Any], ...] = ()
    product_id: str | None = None  # the asset a modify/delete changes
    parent_id: str | None = None  # the bundle (order item) this item belongs to


@dataclass(frozen=True)
class OrderItem:
    """A validated order item: typed attributes, defaults applied."""

    id: str
    action: str
    offering_id: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    product_id: str | None = None
    parent_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "offering_id": self.offering_id,
                "attributes": dict(self.attributes), "product_id": self.product_id,
                "parent_id": self.parent_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OrderItem":
        return cls(id=d["id"], action=d["action"], offering_id=d.get("offering_id"),
                   attributes=dict(d.get("attributes") or {}), product_id=d.get("product_id"),
                   parent_id=d.get("parent_id"))


def item_path(index: int, *rest: str) -> str:
    return ".".join([f"productOrderItem[{index}]", *rest])


def validate_items(inputs: list[ItemInput], catalog: Catalog) -> list[OrderItem]:
    """Validate order items against the catalog. Raises InvalidOrder with every issue."""
    issues: list[Issue] = []
    if not inputs:
        raise InvalidOrder([Issue("productOrderItem", "an order needs at least one item")])
    seen: dict[str, int] = {}
    for i, item in enumerate(inputs):
        if item.id in seen:
            issues.append(Issue(item_path(i, "id"),
                                f"duplicate item id '{item.id}' (also productOrderItem[{seen[item.id]}])"))
        seen.setdefault(item.id, i)
    items: list[OrderItem] = []
    for i, item in enumerate(inputs):
        if item.action not in ACTIONS:
            issues.append(Issue(item_path(i, "action"),
                                f"unknown action '{item.action}' (expected {', '.join(ACTIONS)})"))
            continue
        if item.parent_id is not None and item.parent_id not in seen:
            issues.append(Issue(item_path(i, "productOrderItemRelationship"),
                                f"refers to unknown order item '{item.parent_id}'"))
        if item.action in ("modify", "delete") and not item.product_id:
            issues.append(Issue(item_path(i, "product", "id"),
                                f"a '{item.action}' item names the asset it changes in product.id"))
        if item.offering_id is None:
            if item.characteristics:
                issues.append(Issue(item_path(i, "productOffering"),
                                    "characteristics need a product offering to be checked against"))
            items.append(OrderItem(item.id, item.action, None, {}, item.product_id, item.parent_id))
            continue
        product = catalog.product_by_id.get(item.offering_id)
        if product is None:
            known = ", ".join(sorted(catalog.product_by_id))
            issues.append(Issue(item_path(i, "productOffering", "id"),
                                f"unknown product offering '{item.offering_id}' (known: {known})"))
            continue
        attrs: dict[str, Any] = {}
        given: set[str] = set()  # named, even with a bad value: not also "required" below
        for j, (name, raw) in enumerate(item.characteristics):
            cpath = item_path(i, "product", f"productCharacteristic[{j}]")
            attr = product.attribute(name)
            if attr is None:
                declared = ", ".join(a.name for a in product.attributes) or "none"
                issues.append(Issue(f"{cpath}.name", f"'{name}' is not an attribute of "
                                    f"'{product.id}' (declared: {declared})"))
                continue
            if name in given:
                issues.append(Issue(f"{cpath}.name", f"'{name}' is given twice"))
                continue
            given.add(name)
            try:
                attrs[name] = coerce_value(attr, raw)
            except ValueError as exc:
                issues.append(Issue(f"{cpath}.value", f"{name}: {exc}"))
        if item.action == "add":
            for attr in product.attributes:
                if attr.name in given:
                    continue
                if attr.default is not None:
                    attrs[attr.name] = coerce_value(attr, attr.default)
                elif attr.required:
                    issues.append(Issue(item_path(i, "product", "productCharacteristic"),
                                        f"'{attr.name}' is required for '{product.id}'"))
        items.append(OrderItem(item.id, item.action, product.id, attrs, item.product_id, item.parent_id))
    if issues:
        raise InvalidOrder(issues)
    return items


def root_of(item_id: str, parents: dict[str, str | None]) -> str:
    """The topmost order item (the bundle) an item belongs to."""
    seen = {item_id}
    while parents.get(item_id):
        item_id = parents[item_id]  # type: ignore[assignment]
        if item_id in seen:  # a cycle in the relationships: stop at the repeat
            break
        seen.add(item_id)
    return item_id
