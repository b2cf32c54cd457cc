"""Commercial orders as the domain sees them, and their validation against the catalog.

The TMF622 representation is parsed by the API; what reaches the domain is a list of
``ItemInput``. Validation reports every problem at once, each naming its field with the
TMF622 path (``productOrderItem[1].product.productCharacteristic[0].value``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .catalog import ACTIONS, Catalog, coerce_value
from .errors import InvalidOrder, Issue
from .inventory import ACTIVE, TERMINATED, InstalledBase


@dataclass(frozen=True)
class ItemInput:
    """An order item as received, before validation."""

    id: str
    action: str
    offering_id: str | None = None
    characteristics: tuple[tuple[str, Any], ...] = ()
    product_id: str | None = None  # the asset a modify/delete changes
    parent_id: str | None = None  # the bundle (order item) this item belongs to
    changes_allowed: bool = True  # False: the item may never be amended (TMF622 changesAllowed)
    quantity: int | None = None  # TMF622 quantity (how it is fulfilled: the product says)


@dataclass(frozen=True)
class OrderItem:
    """A validated order item: typed attributes, defaults applied."""

    id: str
    action: str
    offering_id: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    product_id: str | None = None
    parent_id: str | None = None
    # the asset it adds (an id given when the order is placed) or changes (its product_id)
    asset_id: str | None = None
    changes_allowed: bool = True  # False: created non-amendable (rules.check_changes_allowed)
    # One instance of a TMF622 item of quantity N (products whose quantity is `instances`):
    # the item's id is ``<sent id>[<instance>]``, ``item_of`` the sent id, ``instance_of``
    # the group (the asset id of its first instance), ``quantity`` the N asked for.
    instance: int | None = None
    item_of: str | None = None
    instance_of: str | None = None
    quantity: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "action": self.action, "offering_id": self.offering_id,
               "attributes": dict(self.attributes), "product_id": self.product_id,
               "parent_id": self.parent_id, "asset_id": self.asset_id}
        if not self.changes_allowed:
            out["changes_allowed"] = False
        if self.instance is not None:
            out |= {"instance": self.instance, "item_of": self.item_of,
                    "instance_of": self.instance_of, "quantity": self.quantity}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OrderItem":
        return cls(id=d["id"], action=d["action"], offering_id=d.get("offering_id"),
                   attributes=dict(d.get("attributes") or {}), product_id=d.get("product_id"),
                   parent_id=d.get("parent_id"), asset_id=d.get("asset_id"),
                   changes_allowed=d.get("changes_allowed", True) is not False,
                   instance=d.get("instance"), item_of=d.get("item_of"),
                   instance_of=d.get("instance_of"), quantity=d.get("quantity"))


# An order may hold at most this many order items once quantities are expanded into instances
# (twice the largest order the benchmarks plan: 10,000 items).
MAX_INSTANCES = 20_000


def instance_id(item_id: str, instance: int) -> str:
    """The id of one instance of an order item of quantity N: ``2[3]``."""
    return f"{item_id}[{instance}]"


def item_path(index: int, *rest: str) -> str:
    return ".".join([f"productOrderItem[{index}]", *rest])


def validate_items(inputs: list[ItemInput], catalog: Catalog,
                   installed: InstalledBase | None = None) -> list[OrderItem]:
    """Validate order items against the catalog and, when given, the customer's installed
    base (the assets ``modify``/``delete`` items name). Raises InvalidOrder with every issue."""
    issues: list[Issue] = []
    if not inputs:
        raise InvalidOrder([Issue("productOrderItem", "an order needs at least one item")])
    seen: dict[str, int] = {}
    for i, item in enumerate(inputs):
        if item.id in seen:
            issues.append(Issue(item_path(i, "id"),
                                f"duplicate item id '{item.id}' (also productOrderItem[{seen[item.id]}])"))
        seen.setdefault(item.id, i)
    issues += bundle_issues(inputs)
    refused: set[int] = set()  # items whose asset is refused: nothing more to say about them
    if installed is not None:
        inputs, asset_issues, refused = resolve_assets(inputs, installed)
        issues += asset_issues
    items: list[OrderItem] = []
    bundles = {x.parent_id for x in inputs if x.parent_id is not None}
    for i, item in enumerate(inputs):
        if i in refused:
            continue
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
        if product.quantity == "attribute" and item.quantity is not None:
            if "quantity" in attrs and attrs["quantity"] != item.quantity:
                issues.append(Issue(item_path(i, "quantity"), f"quantity {item.quantity} differs from "
                                    f"the characteristic 'quantity' ({attrs['quantity']})"))
            attrs["quantity"] = item.quantity
            given.add("quantity")
        if item.action == "add":
            for attr in product.attributes:
                if attr.name in given:
                    continue
                if attr.default is not None:
                    attrs[attr.name] = coerce_value(attr, attr.default)
                elif attr.required:
                    issues.append(Issue(item_path(i, "product", "productCharacteristic"),
                                        f"'{attr.name}' is required for '{product.id}'"))
        one = OrderItem(item.id, item.action, product.id, attrs, item.product_id, item.parent_id)
        if product.quantity == "instances" and item.quantity is not None:
            if len(items) + item.quantity > MAX_INSTANCES:
                issues.append(Issue(item_path(i, "quantity"), f"quantity {item.quantity} makes the "
                                    f"order more than {MAX_INSTANCES} items: split it"))
                continue
            expanded, problem = instances(one, item.quantity, installed,
                                          has_children=item.id in bundles)
            if problem:
                issues.append(Issue(item_path(i, "quantity"), problem))
            items += expanded
            continue
        items.append(one)
    issues += _instance_clashes(items, inputs)
    if issues:
        raise InvalidOrder(issues)
    locked = {i.id for i in inputs if not i.changes_allowed}
    return [replace(i, changes_allowed=False) if i.id in locked else i for i in items]


def _instance_clashes(items: list[OrderItem], inputs: list[ItemInput]) -> list[Issue]:
    """Instances made from a quantity may not take the id of an item sent, nor change an
    asset another item of the order changes."""
    position = {i.id: n for n, i in enumerate(inputs)}
    issues: list[Issue] = []
    ids: set[str] = set()
    changed: dict[str, str] = {}
    for item in items:
        where = item_path(position.get(item.item_of or item.id, 0), "quantity")
        if item.instance is not None and item.id in position:
            issues.append(Issue(where, f"instance '{item.id}' has the id of another order item"))
        if item.id in ids and item.instance is not None:
            issues.append(Issue(where, f"instance '{item.id}' is made twice"))
        ids.add(item.id)
        if item.product_id and item.action != "add":
            other = changed.setdefault(item.product_id, item.id)
            if other != item.id and item.instance is not None:
                issues.append(Issue(where, f"removing instance '{item.product_id}' clashes with "
                                           f"order item '{other}', which changes it"))
    return issues


def instances(item: OrderItem, quantity: int, installed: InstalledBase | None, *,
              has_children: bool) -> tuple[list[OrderItem], str | None]:
    """An item of a product fulfilled as ``instances``, as the order items that do it.

    - ``add`` of quantity N > 1: N instances ``<id>[1]`` .. ``<id>[N]``, each its own lines,
      plan items and asset (a bundle with children is refused: order the bundle N times);
    - ``modify`` naming one instance (or a product ordered once) with quantity M: the item
      itself, plus the difference only: new instances numbered after the group's highest,
      or ``delete`` items for the highest-numbered active instances other than the one named;
    - quantity 1, and other actions: the item as sent."""
    if item.action == "add":
        if quantity == 1:
            return [item], None
        if has_children:
            return [item], "a bundle with children cannot have a quantity above 1: order it once per bundle"
        return [replace(item, id=instance_id(item.id, k), instance=k, item_of=item.id, quantity=quantity)
                for k in range(1, quantity + 1)], None
    asset = installed.assets.get(item.product_id or "") if installed is not None else None
    if item.action != "modify" or asset is None:
        return [item], None
    if asset.root_asset_id:
        return [item], "the quantity of a member of a bundle cannot change: change the bundle's"
    group = sorted((a for a in installed.assets.values()  # type: ignore[union-attr]
                    if a.group == asset.group and a.status == ACTIVE and a.offering_id == asset.offering_id),
                   key=lambda a: (a.instance or 1, a.id))
    present = len(group)
    if quantity > present:
        last = max((a.instance or 1) for a in group)
        return [item] + [OrderItem(instance_id(item.id, k), "add", item.offering_id,
                                   dict(asset.attributes) | dict(item.attributes), None, None,
                                   instance=k, item_of=item.id, instance_of=asset.group,
                                   quantity=quantity)
                         for k in range(last + 1, last + 1 + quantity - present)], None
    leaving = [a for a in reversed(group) if a.id != asset.id][:present - quantity]
    return [item] + [OrderItem(instance_id(item.id, a.instance or 1), "delete", item.offering_id, {},
                               a.id, None, instance=a.instance or 1, item_of=item.id,
                               instance_of=asset.group, quantity=quantity)
                     for a in leaving], None


def bundle_issues(inputs: list[ItemInput]) -> list[Issue]:
    """Bundles are trees: an item may not be (indirectly) its own parent."""
    parents = {i.id: i.parent_id for i in inputs}
    issues = []
    for n, item in enumerate(inputs):
        seen, current = {item.id}, item.parent_id
        while current is not None and current in parents:
            if current in seen:
                issues.append(Issue(item_path(n, "productOrderItemRelationship"),
                                    f"item '{item.id}' is part of a bundle cycle"))
                break
            seen.add(current)
            current = parents[current]
    return issues


def resolve_assets(inputs: list[ItemInput], installed: InstalledBase
                   ) -> tuple[list[ItemInput], list[Issue], set[int]]:
    """Check the assets that ``modify``, ``delete`` and ``noChange`` items name in product.id:
    each must be the customer's, active, named once, and of the item's offering (which is
    taken from the asset when the item gives none). Returns the items, the issues and the
    indexes of the items refused."""
    issues: list[Issue] = []
    out: list[ItemInput] = []
    refused: set[int] = set()
    named: dict[str, int] = {}
    customer = installed.customer_id or "unknown"
    for n, item in enumerate(inputs):
        if item.action not in ("modify", "delete", "noChange") or not item.product_id:
            out.append(item)
            continue
        where = item_path(n, "product", "id")
        asset = installed.assets.get(item.product_id)
        if asset is None:
            issues.append(Issue(where, f"no product '{item.product_id}' in the inventory of "
                                       f"customer '{customer}'"))
        elif asset.status == TERMINATED:
            issues.append(Issue(where, f"product '{item.product_id}' is terminated"))
        elif item.product_id in named:
            issues.append(Issue(where, f"product '{item.product_id}' is also changed by "
                                       f"productOrderItem[{named[item.product_id]}]"))
        elif item.offering_id is not None and item.offering_id != asset.offering_id:
            issues.append(Issue(item_path(n, "productOffering", "id"),
                                f"product '{item.product_id}' is a '{asset.offering_id}', "
                                f"not a '{item.offering_id}'"))
        elif item.offering_id is None:
            item = replace(item, offering_id=asset.offering_id)
        if len(issues) > len(refused):
            refused.add(n)
        named.setdefault(item.product_id, n)
        out.append(item)
    return out, issues, refused


def with_asset_ids(items: list[OrderItem], new_id) -> list[OrderItem]:
    """Each item with the asset it adds (a new id) or changes (its product.id). (The
    instances of a new item of quantity N are grouped when their assets are recorded:
    ``inventory.asset_changes``.)"""
    return [replace(i, asset_id=new_id() if i.action == "add" else i.product_id)
            if i.offering_id is not None else i for i in items]


def root_of(item_id: str, parents: dict[str, str | None]) -> str:
    """The topmost order item (the bundle) an item belongs to."""
    seen = {item_id}
    while parents.get(item_id):
        item_id = parents[item_id]  # type: ignore[assignment]
        if item_id in seen:  # a cycle in the relationships: stop at the repeat
            break
        seen.add(item_id)
    return item_id


def roots_with_asset_changes(items: list[OrderItem], installed: InstalledBase) -> set[str]:
    """The bundles (root items) whose commercial assets change whatever their lines do: an
    add or a delete, or a modify giving an attribute a new value. A modify that changes
    nothing the asset holds changes no asset (and, with no line to work on, plans nothing)."""
    parents = {i.id: i.parent_id for i in items}
    roots: set[str] = set()
    for item in items:
        if item.offering_id is None or item.action == "noChange":
            continue
        asset = installed.assets.get(item.product_id or "")
        if item.action == "modify" and asset is not None \
                and all(asset.attributes.get(k) == v for k, v in item.attributes.items()):
            continue
        roots.add(root_of(item.id, parents))
    return roots
