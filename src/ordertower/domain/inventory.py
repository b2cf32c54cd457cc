"""The installed base: what a customer owns, as decomposition and the assetize step see it.

- An **asset** is a commercial product the customer owns (TMF637 product): one per order
  item that added it, changed by ``modify`` items and terminated by ``delete`` items that
  name it in ``product.id``.
- A **technical inventory item** is a technical product instance that realises assets: the
  fulfilled line, kept with its attributes (including what systems returned, such as the
  ``msisdn``) under a stable **inventory key**, and the ids of the assets that use it. A
  shared (account-scope) item is used by several assets.

Inventory keys do not depend on order item ids, so a later order finds what an earlier one
made: ``<asset id>/<technical products from it>`` for item and root scope
(``3f2a.../mobile-line``), ``account:<customer>/<product>`` for account scope and
``order:<order id>/<product>`` for order scope.

``derive_line_action`` is the MACD rule: it compares what an order wants with what is
installed and says what each line must do. Pure functions and data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

ACTIVE = "active"
TERMINATED = "terminated"


@dataclass(frozen=True)
class Asset:
    id: str
    offering_id: str
    attributes: dict[str, Any]
    status: str = ACTIVE
    customer_id: str | None = None
    root_asset_id: str | None = None  # the bundle's root asset, for a child of a bundle

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "offering_id": self.offering_id, "attributes": dict(self.attributes),
                "status": self.status, "customer_id": self.customer_id,
                "root_asset_id": self.root_asset_id}


@dataclass(frozen=True)
class InventoryItem:
    key: str
    technical_product: str
    attributes: dict[str, Any]
    assets: tuple[str, ...]  # the assets that use it
    status: str = ACTIVE

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "technical_product": self.technical_product,
                "attributes": dict(self.attributes), "assets": list(self.assets),
                "status": self.status}


@dataclass
class InstalledBase:
    """A snapshot of one customer's assets (any status) and active inventory items."""

    customer_id: str | None
    assets: dict[str, Asset] = field(default_factory=dict)
    items: dict[str, InventoryItem] = field(default_factory=dict)  # active, by key

    @classmethod
    def empty(cls, customer_id: str | None = None) -> "InstalledBase":
        return cls(customer_id)

    def as_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id,
                "assets": [a.as_dict() for a in self.assets.values()],
                "items": [i.as_dict() for i in self.items.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InstalledBase":
        assets = [Asset(**a) for a in data.get("assets") or []]
        items = [InventoryItem(**(i | {"assets": tuple(i["assets"])})) for i in data.get("items") or []]
        return cls(data.get("customer_id"), {a.id: a for a in assets}, {i.key: i for i in items})

    def relevant_to(self, asset_ids: Iterable[str]) -> "InstalledBase":
        """The part an order naming these assets can touch: those assets (and their bundle
        roots), the items anchored to them, and the customer's account-scope items."""
        wanted = {a for a in asset_ids if a in self.assets}
        wanted |= {self.assets[a].root_asset_id for a in wanted if self.assets[a].root_asset_id}
        prefixes = tuple(f"{a}/" for a in wanted) + ("account:",)
        return InstalledBase(self.customer_id, {a: self.assets[a] for a in wanted if a in self.assets},
                             {k: v for k, v in self.items.items() if k.startswith(prefixes)})

    def apply(self, changes: Iterable[dict[str, Any]]) -> "InstalledBase":
        """The installed base after the asset changes of a completed bundle (the records of
        ``asset_changes``): what the store does in SQL, in memory (for tests and tools)."""
        assets, items = dict(self.assets), dict(self.items)
        for change in changes:
            asset_id = change["asset_id"]
            old = assets.get(asset_id)
            if change["action"] == "add" and old is None:
                assets[asset_id] = Asset(asset_id, change["offering_id"], dict(change["attributes"]),
                                         customer_id=self.customer_id,
                                         root_asset_id=change.get("root_asset_id"))
            elif change["action"] == "modify" and old is not None:
                assets[asset_id] = replace(old, attributes=old.attributes | change["attributes"])
            elif change["action"] == "delete" and old is not None:
                assets[asset_id] = replace(old, status=TERMINATED)
            for use in change["inventory"]:
                items = _use_item(items, asset_id, use)
            if change["action"] == "delete":
                for key, item in list(items.items()):
                    if key.startswith(f"{asset_id}/"):
                        items = _use_item(items, asset_id, {"key": key, "use": "leave"})
        return InstalledBase(self.customer_id, assets, items)


def _use_item(items: dict[str, InventoryItem], asset_id: str, use: dict[str, Any]) -> dict[str, InventoryItem]:
    key = use["key"]
    current = items.get(key)
    if use["use"] == "keep":
        users = tuple(dict.fromkeys((current.assets if current else ()) + (asset_id,)))
        items[key] = InventoryItem(key, use["technical_product"], dict(use["attributes"]), users)
    elif current is not None:
        users = tuple(a for a in current.assets if a != asset_id)
        if users and use.get("action") != "delete":
            items[key] = replace(current, assets=users)
        else:
            del items[key]  # terminated: no longer in the active snapshot
    return items


# --- inventory keys ----------------------------------------------------------------------

def new_asset_anchor(order_item_id: str) -> str:
    """The anchor of an asset not created yet (when no asset id was assigned: the explorer)."""
    return f"new:{order_item_id}"


def account_anchor(customer_id: str | None) -> str:
    return f"account:{customer_id or 'unknown'}"


def order_anchor(order_id: str | None) -> str:
    return f"order:{order_id or 'new'}"


def inventory_key(anchor: str, path: tuple[str, ...]) -> str:
    return f"{anchor}/{'/'.join(path)}"


# --- the MACD rule -------------------------------------------------------------------------

@dataclass(frozen=True)
class DerivedAction:
    action: str
    attributes: dict[str, Any]
    previous: dict[str, Any] | None
    reason: str


def derive_line_action(existing: InventoryItem | None, mapped: dict[str, Any],
                       mapped_names: Iterable[str], keepers: set[str], leavers: set[str]) -> DerivedAction:
    """What a line must do to bring the installed base to what the order wants.

    ``keepers`` are the assets that want the line (with the ``mapped`` attributes);
    ``leavers`` the assets that give it up (their order item deletes them, or the rule's
    condition no longer holds for them). The action is never read from an attribute:

    - not installed: ``add`` if an asset wants it, else ``noChange`` (nothing to disconnect);
    - installed, nobody wants it any more: ``delete`` if no other asset uses it, else
      ``noChange`` (a shared item stays until its last user is disconnected);
    - installed and wanted: ``modify`` if a mapped attribute differs, else ``noChange``
      (an ``add`` to an existing account reuses the account's item).
    """
    names = set(mapped_names)
    if existing is None:
        if keepers:
            return DerivedAction("add", dict(mapped), None, "new")
        return DerivedAction("noChange", {}, None, "not in the installed base: nothing to disconnect")
    before = dict(existing.attributes)
    leavers = leavers - keepers
    others = set(existing.assets) - leavers - keepers
    if not keepers:
        if others:
            n = len(others)
            return DerivedAction("noChange", before, before,
                                 f"still used by {n} other asset{'s' if n != 1 else ''}: stays")
        return DerivedAction("delete", before, before, "no asset uses it any more: disconnected")
    after = {k: v for k, v in before.items() if k not in names} | dict(mapped)
    changed = sorted(n for n in names if before.get(n) != mapped.get(n))
    if changed:
        detail = ", ".join(f"{n} {before.get(n)!r} -> {mapped.get(n)!r}" for n in changed)
        return DerivedAction("modify", after, before, f"changed: {detail}")
    if keepers - set(existing.assets):
        return DerivedAction("noChange", after, before, "already installed: reused")
    return DerivedAction("noChange", after, before, "unchanged")


def asset_changes(root_item_id: str, order_items: list[dict[str, Any]], lines: list[dict[str, Any]],
                  billing_account: Callable[[list[dict[str, Any]]], str | None]) -> list[dict[str, Any]]:
    """What the completion of one bundle (root order item) changes in the installed base:
    one record per order item of the bundle that adds, modifies or deletes an asset, with
    the inventory items its lines keep (add, modify, noChange) or leave (delete).

    ``order_items`` are stored order items (dicts) with ``asset_id``; ``lines`` the order's
    fulfillment lines as stored (with ``inventory_key``, ``action``, ``attributes``)."""
    parents = {i["id"]: i.get("parent_id") for i in order_items}
    by_id = {i["id"]: i for i in order_items}

    def root_of(item_id: str) -> str:
        seen = {item_id}
        while parents.get(item_id) and parents[item_id] not in seen:
            item_id = parents[item_id]
            seen.add(item_id)
        return item_id

    bundle = [i for i in order_items if i.get("offering_id") and root_of(i["id"]) == root_item_id]
    wanted = {i["id"] for i in bundle}
    realizing: dict[str, list[dict[str, Any]]] = {i: [] for i in wanted}
    for line in lines:
        for item_id in line["lineage"]:
            if item_id in wanted:
                realizing[item_id].append(line)
    root_asset = _asset_id(by_id.get(root_item_id, {}))
    out: list[dict[str, Any]] = []
    for oi in bundle:
        if oi["action"] == "noChange":
            continue
        asset_id = _asset_id(oi)
        mine = realizing[oi["id"]]
        uses = []
        for line in mine:
            if not line.get("inventory_key"):
                continue
            leaving = oi["action"] == "delete" or line["action"] == "delete"
            uses.append({"key": line["inventory_key"], "technical_product": line["technical_product"],
                         "attributes": dict(line["attributes"]), "use": "leave" if leaving else "keep",
                         "action": line["action"], "line_id": line["line_id"]})
        out.append({"asset_id": asset_id, "order_item_id": oi["id"], "offering_id": oi["offering_id"],
                    "action": oi["action"], "attributes": dict(oi["attributes"]),
                    "lines": [line["line_id"] for line in mine],
                    "billing_account_id": billing_account(mine),
                    "root_asset_id": root_asset if oi["id"] != root_item_id else None,
                    "inventory": uses})
    return out


def _asset_id(order_item: dict[str, Any]) -> str:
    return order_item.get("asset_id") or order_item.get("product_id") \
        or new_asset_anchor(order_item.get("id", "?"))
