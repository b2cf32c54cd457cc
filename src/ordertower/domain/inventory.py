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

``derive_line_action`` is the MACD rule of decomposition: it compares what an order wants
with what is installed and says what each line must do. ``installed_base_changes`` is the
MACD rule of completion: what one change of an ``assetize`` step (``asset_changes``) does to
the assets and items; the store's ``record_changes`` and ``InstalledBase.apply`` both follow
it. Pure functions and data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

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
    order_id: str | None = None  # the order that added it
    order_item_id: str | None = None
    lines: tuple[str, ...] = ()  # the fulfillment lines that realise it
    billing_account_id: str | None = None
    instance: int | None = None  # its number among the instances of an item of quantity N
    instance_of: str | None = None  # the group: the asset id of the group's first instance

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "offering_id": self.offering_id, "attributes": dict(self.attributes),
                "status": self.status, "customer_id": self.customer_id,
                "root_asset_id": self.root_asset_id, "order_id": self.order_id,
                "order_item_id": self.order_item_id, "lines": list(self.lines),
                "billing_account_id": self.billing_account_id, "instance": self.instance,
                "instance_of": self.instance_of}

    @property
    def group(self) -> str:
        """The instances it belongs with (itself alone when it was ordered once)."""
        return self.instance_of or self.id


@dataclass(frozen=True)
class InventoryItem:
    key: str
    technical_product: str
    attributes: dict[str, Any]
    assets: tuple[str, ...]  # the assets that use it
    status: str = ACTIVE
    lines: tuple[dict[str, Any], ...] = ()  # {order, line, action} that made or changed it

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "technical_product": self.technical_product,
                "attributes": dict(self.attributes), "assets": list(self.assets),
                "status": self.status, "lines": list(self.lines)}


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
        assets = [Asset(**(a | {"lines": tuple(a.get("lines") or ())})) for a in data.get("assets") or []]
        items = [InventoryItem(**(i | {"assets": tuple(i["assets"]), "lines": tuple(i.get("lines") or ())}))
                 for i in data.get("items") or []]
        return cls(data.get("customer_id"), {a.id: a for a in assets}, {i.key: i for i in items})

    def relevant_to(self, asset_ids: Iterable[str]) -> "InstalledBase":
        """The part an order naming these assets can touch: those assets (and their bundle
        roots), the items anchored to them, and the customer's account-scope items."""
        wanted = {a for a in asset_ids if a in self.assets}
        wanted |= {self.assets[a].root_asset_id for a in wanted if self.assets[a].root_asset_id}
        prefixes = tuple(f"{a}/" for a in wanted) + ("account:",)
        return InstalledBase(self.customer_id, {a: self.assets[a] for a in wanted if a in self.assets},
                             {k: v for k, v in self.items.items() if k.startswith(prefixes)})

    def apply(self, changes: Iterable[dict[str, Any]], *, order_id: str) -> "InstalledBase":
        """The installed base after the asset changes of a completed bundle (the records of
        ``asset_changes``) of order ``order_id``, in memory (for tests and tools): the rows
        ``installed_base_changes`` says to write, as the store writes them."""
        base = self
        for change in changes:
            base = base._with(installed_base_changes(
                change, base.assets.get(change["asset_id"]), base.items, order_id=order_id,
                customer_id=base.customer_id, new_id=lambda: ""))  # item ids are not kept in memory
        return base

    def before(self, records: Iterable[Mapping[str, Any]], *, order_id: str) -> "InstalledBase":
        """The installed base without what an order recorded (``recorded_change`` records, in
        the order written), in memory: what an amendment of that order is planned against."""
        base = self
        for record in reversed(list(records)):
            entry = record.get("asset")
            asset = None
            if entry is not None:
                asset = base.assets.get(entry["id"]) or _asset_of(entry["after"])
            items = {e["key"]: base.items.get(e["key"]) or recorded_item(e)
                     for e in record.get("items") or []}
            base = base._with(restoring_changes(record, asset, items, order_id=order_id))
        return base

    def _with(self, changes: "InstalledBaseChanges") -> "InstalledBase":
        assets, items = dict(self.assets), dict(self.items)
        if changes.asset is not None:
            assets[changes.asset.asset.id] = changes.asset.asset
        for change in changes.items:
            if change.item.status == ACTIVE:
                items[change.item.key] = change.item
            else:
                items.pop(change.item.key, None)  # terminated: no longer in the active snapshot
        return InstalledBase(self.customer_id, assets, items)


def _asset_of(row: Mapping[str, Any]) -> Asset:
    return Asset(**(dict(row) | {"lines": tuple(row.get("lines") or ())}))


def _item_of(row: Mapping[str, Any]) -> InventoryItem:
    return InventoryItem(**(dict(row) | {"assets": tuple(row["assets"]), "lines": tuple(row.get("lines") or ())}))


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


@dataclass(frozen=True)
class Bundles:
    """An order's items and lines grouped by bundle (root order item), built once for all
    the bundles of an order: each bundle's assets are then found in time proportional to the
    bundle, not to the order (a 10,000-line order has 10,000 bundles)."""

    items: dict[str, list[dict[str, Any]]]  # root item id -> its order items, in order
    lines: dict[str, list[dict[str, Any]]]  # root item id -> the lines realising them, in order
    by_id: dict[str, dict[str, Any]]
    # the instances of a new item of quantity N are grouped under its lowest instance's asset
    # (an instance added to an installed group by a modify names its group already)
    lowest: dict[str, dict[str, Any]]

    def line_ids(self, root_item_id: str) -> list[str]:
        """The ids of the lines realising a bundle's items."""
        return [line["line_id"] for line in self.lines.get(root_item_id, [])]

    def order_items(self, root_item_id: str) -> list[dict[str, Any]]:
        """What ``asset_changes`` of this bundle reads of the order's items: the bundle's, and
        the lowest instance of each item of quantity N they are instances of (which may be a
        bundle of its own). ``asset_changes(root, bundles.order_items(root), <the bundle's
        lines>)`` equals ``asset_changes(root, <all the items>, <all the lines>)``."""
        mine = self.items.get(root_item_id, [])
        ids = {i["id"] for i in mine}
        groups = {self.lowest[i["item_of"]]["id"]: self.lowest[i["item_of"]] for i in mine
                  if i.get("item_of") in self.lowest}
        return mine + [i for key, i in groups.items() if key not in ids]


def bundles_of(order_items: list[dict[str, Any]], lines: list[dict[str, Any]]) -> Bundles:
    """``order_items``: stored order items (dicts, with ``asset_id``); ``lines``: the order's
    fulfillment lines as stored (with ``lineage``, ``inventory_key``, ``action``,
    ``attributes``)."""
    parents = {i["id"]: i.get("parent_id") for i in order_items}
    roots: dict[str, str] = {}

    def root_of(item_id: str) -> str:
        if item_id in roots:
            return roots[item_id]
        seen, start = {item_id}, item_id
        while parents.get(item_id) and parents[item_id] not in seen:
            item_id = parents[item_id]
            seen.add(item_id)
        roots[start] = item_id
        return item_id

    items: dict[str, list[dict[str, Any]]] = {}
    for i in order_items:
        items.setdefault(root_of(i["id"]), []).append(i)
    by_root: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        for root in dict.fromkeys(root_of(item_id) for item_id in line["lineage"]):
            by_root.setdefault(root, []).append(line)
    lowest: dict[str, dict[str, Any]] = {}
    for i in order_items:
        if i.get("instance") is not None and not i.get("instance_of") and i["action"] == "add":
            first = lowest.get(i["item_of"])
            if first is None or i["instance"] < first["instance"]:
                lowest[i["item_of"]] = i
    return Bundles(items, by_root, {i["id"]: i for i in order_items}, lowest)


def asset_changes(root_item_id: str, order_items: list[dict[str, Any]], lines: list[dict[str, Any]],
                  billing_account: Callable[[list[dict[str, Any]]], str | None]) -> list[dict[str, Any]]:
    """What the completion of one bundle (root order item) changes in the installed base:
    one record per order item of the bundle that adds, modifies or deletes an asset, with
    the inventory items its lines keep (add, modify, noChange) or leave (delete).

    ``order_items`` are stored order items (dicts) with ``asset_id``; ``lines`` the order's
    fulfillment lines as stored (with ``inventory_key``, ``action``, ``attributes``): the
    whole order's, or only the bundle's (``Bundles.order_items`` and ``Bundles.lines``, what a
    worker reads for an assetize item), with the same result."""
    bundles = bundles_of(order_items, [])  # the items grouped; each line is looked at once, below
    bundle = [i for i in bundles.items.get(root_item_id, []) if i.get("offering_id")]
    wanted = {i["id"] for i in bundle}
    realizing: dict[str, list[dict[str, Any]]] = {i: [] for i in wanted}
    for line in lines:
        # a set operation: a line shared by every bundle (a customer's billing account in a
        # 10,000-line order) has a lineage of thousands of items
        for item_id in wanted.intersection(line["lineage"]):
            realizing[item_id].append(line)
    root_asset = _asset_id(bundles.by_id.get(root_item_id, {}))
    lowest = bundles.lowest
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
                    "instance": oi.get("instance"),
                    "instance_of": oi.get("instance_of") or (
                        _asset_id(lowest[oi["item_of"]]) if oi.get("item_of") in lowest else None),
                    "inventory": uses})
    return out


def _asset_id(order_item: dict[str, Any]) -> str:
    return order_item.get("asset_id") or order_item.get("product_id") \
        or new_asset_anchor(order_item.get("id", "?"))


# --- the MACD rule of completion ----------------------------------------------------------

Event = tuple[str, dict[str, Any]]  # (event kind, payload)


@dataclass(frozen=True)
class RowsToRead:
    """The rows ``installed_base_changes`` needs for a change, read (and locked) beforehand."""

    asset_id: str
    item_keys: tuple[str, ...]  # in the order the rule uses them (the lock order)
    anchored: bool  # also every active item whose key starts with "<asset id>/"


def rows_to_read(change: Mapping[str, Any]) -> RowsToRead:
    keys = tuple(dict.fromkeys(use["key"] for use in change["inventory"]))
    return RowsToRead(change["asset_id"], keys, change["action"] == "delete")


@dataclass(frozen=True)
class AssetInsert:
    asset: Asset


@dataclass(frozen=True)
class AssetUpdate:
    asset: Asset  # new attributes, lines and billing account


@dataclass(frozen=True)
class AssetTerminate:
    asset: Asset


@dataclass(frozen=True)
class InventoryItemInsert:
    id: str
    customer_id: str | None
    item: InventoryItem


@dataclass(frozen=True)
class InventoryItemUpdate:
    item: InventoryItem  # kept: attributes, users, active again, traced


@dataclass(frozen=True)
class InventoryItemRelease:
    item: InventoryItem  # left: one user fewer; terminated when ``item.status`` says so


AssetChange = AssetInsert | AssetUpdate | AssetTerminate
ItemChange = InventoryItemInsert | InventoryItemUpdate | InventoryItemRelease


@dataclass(frozen=True)
class InstalledBaseChanges:
    """What one asset change writes; each row change carries the whole row after it."""

    asset: AssetChange | None
    items: tuple[ItemChange, ...]  # in order; an item may change more than once
    events: tuple[Event, ...]

    @property
    def empty(self) -> bool:
        return self.asset is None and not self.items and not self.events


def installed_base_changes(change: Mapping[str, Any], asset: Asset | None,
                           items: Mapping[str, InventoryItem], *, order_id: str,
                           customer_id: str | None, new_id: Callable[[], str]) -> InstalledBaseChanges:
    """The rows to write and the events to emit for one asset change of a completed bundle
    (a record of ``asset_changes``): the one copy of this rule, which the store's
    ``record_changes`` and ``InstalledBase.apply`` both follow.

    - The asset: ``add`` inserts it (``ProductCreateEvent``); an ``add`` of an asset its own
      order recorded already with other attributes (the order was amended after its bundle
      was recorded) makes the asset follow the order; ``modify`` merges the attributes (an
      event only if one changed); ``delete`` terminates it (``ProductStateChangeEvent``)
      unless it is terminated already. Anything else leaves the asset alone.
    - An item a line keeps is inserted if missing; otherwise it takes the line's attributes,
      is active again and gains the asset as a user.
    - An item a line leaves loses the asset; it is terminated when nobody uses it any more
      or when the line is a ``delete``: a shared (account-scope) item stays until its last
      user is disconnected.
    - On ``delete``, every item still active and anchored to the asset (``<asset id>/...``)
      is left too, whether or not a line named it.

    Idempotent: once what it returns is written, asking again returns nothing. ``asset`` is
    the asset (None if there is none); ``items`` the inventory items by key, of any status,
    for the keys of ``rows_to_read(change)`` that exist and, for a delete, every active item
    anchored to the asset (others are ignored). ``new_id`` names an inserted item. No clock:
    the writer stamps the times."""
    asset_change, events = _asset_write(change, asset, order_id, customer_id)
    asset_id = change["asset_id"]
    rows: dict[str, InventoryItem | None] = dict(items)
    out: list[ItemChange] = []

    def use(key: str, keep: dict[str, Any] | None, line_id: str | None, action: str | None) -> None:
        before = rows.get(key)
        trace = {"order": order_id, "line": line_id, "action": action}
        if keep is not None:
            after = _kept(before, key, asset_id, keep, trace)
        else:
            after = _left(before, asset_id, action, trace)
        if after == before or after is None:
            return
        rows[key] = after
        if before is None:
            out.append(InventoryItemInsert(new_id(), customer_id, after))
        else:
            out.append(InventoryItemUpdate(after) if keep is not None else InventoryItemRelease(after))

    for u in change["inventory"]:
        use(u["key"], u if u["use"] == "keep" else None, u.get("line_id"), u.get("action"))
    if change["action"] == "delete":  # what only this asset used, and no line left, goes too
        for key in sorted(k for k in rows if k.startswith(f"{asset_id}/")):
            use(key, None, None, None)
    return InstalledBaseChanges(asset_change, tuple(out), tuple(events))


def _asset_write(change: Mapping[str, Any], current: Asset | None, order_id: str,
                 customer_id: str | None) -> tuple[AssetChange | None, list[Event]]:
    asset_id, action, item_id = change["asset_id"], change["action"], change["order_item_id"]
    attributes = dict(change["attributes"])
    billing = change.get("billing_account_id")
    if action == "add" and current is None:
        row = Asset(asset_id, change["offering_id"], attributes, ACTIVE, customer_id,
                    change.get("root_asset_id"), order_id, item_id, tuple(change["lines"]), billing,
                    change.get("instance"), change.get("instance_of"))
        return AssetInsert(row), [("ProductCreateEvent", {"product": asset_id,
                                                          "offering": change["offering_id"],
                                                          "order_item": item_id})]
    if current is None:
        return None, []
    if action == "add" and current.order_id == order_id and (current.attributes != attributes
                                                             or current.status != ACTIVE):
        # the same order, amended after its bundle was recorded (and perhaps restored: see
        # ``restoring_changes``): the asset follows it, active again
        row = replace(current, attributes=attributes, lines=tuple(change["lines"]), status=ACTIVE,
                      billing_account_id=billing or current.billing_account_id)
        changed = sorted(k for k in set(attributes) | set(current.attributes)
                         if current.attributes.get(k) != attributes.get(k))
        events = [_attribute_change(asset_id, item_id, changed)] if changed else []
        if current.status != ACTIVE:
            events.append(("ProductStateChangeEvent", {"product": asset_id, "status": ACTIVE,
                                                       "order_item": item_id}))
        return AssetUpdate(row), events
    if action == "modify":
        row = replace(current, attributes=current.attributes | attributes,
                      billing_account_id=billing or current.billing_account_id)
        if row == current:
            return None, []
        changed = sorted(k for k, v in attributes.items() if current.attributes.get(k) != v)
        return AssetUpdate(row), [_attribute_change(asset_id, item_id, changed)] if changed else []
    if action == "delete" and current.status != TERMINATED:
        return AssetTerminate(replace(current, status=TERMINATED)), [
            ("ProductStateChangeEvent", {"product": asset_id, "status": TERMINATED, "order_item": item_id})]
    return None, []


def _attribute_change(asset_id: str, item_id: str, changed: list[str]) -> Event:
    return ("ProductAttributeValueChangeEvent", {"product": asset_id, "order_item": item_id,
                                                 "changed": changed})


def _kept(row: InventoryItem | None, key: str, asset_id: str, use: Mapping[str, Any],
          trace: dict[str, Any]) -> InventoryItem:
    if row is None:
        return InventoryItem(key, use["technical_product"], dict(use["attributes"]), (asset_id,),
                             ACTIVE, (trace,))
    users = tuple(row.assets) if row.status == ACTIVE else ()  # each user once (this rule's rows)
    if asset_id not in users:
        users += (asset_id,)
    return replace(row, attributes=dict(use["attributes"]), assets=users, status=ACTIVE,
                   lines=_traced(row.lines, trace))


def _left(row: InventoryItem | None, asset_id: str, line_action: str | None,
          trace: dict[str, Any]) -> InventoryItem | None:
    if row is None or row.status != ACTIVE:
        return row
    users = tuple(a for a in row.assets if a != asset_id)
    ends = not users or line_action == "delete"
    return replace(row, assets=users, status=TERMINATED if ends else ACTIVE,
                   lines=_traced(row.lines, trace))


def _traced(lines: tuple[dict[str, Any], ...], trace: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple(lines) if trace in lines else tuple(lines) + (trace,)


# --- undoing what a bundle recorded ---------------------------------------------------------

def recorded_change(asset: Asset | None, items: Mapping[str, InventoryItem],
                    written: InstalledBaseChanges) -> dict[str, Any] | None:
    """What one asset change wrote (JSON-able), kept with the ``assetize`` item so that
    ``restoring_changes`` can undo it; None if nothing. The asset before and after; for each
    inventory item, its status and attributes before and after and the users it gained and
    lost (``gave``, ``took``), not its whole list of users and traces: an item shared by
    the thousands of assets of one account (a large order's) would make each record, and
    the order's records together, grow with the square of the order."""
    if written.asset is None and not written.items:
        return None
    out: dict[str, Any] = {"asset": None, "items": []}
    if written.asset is not None:
        after = written.asset.asset
        out["asset"] = {"id": after.id, "before": None if asset is None else asset.as_dict(),
                        "after": after.as_dict()}
    firsts: dict[str, tuple[InventoryItem | None, InventoryItem]] = {}
    for change in written.items:
        row = change.item
        firsts[row.key] = (firsts[row.key][0] if row.key in firsts else items.get(row.key), row)
    for key, (before, after) in firsts.items():
        gave, took = _users_diff(before.assets if before is not None else (), after.assets)
        out["items"].append({
            "key": key,
            "before": None if before is None else {"status": before.status,
                                                   "attributes": dict(before.attributes)},
            "after": {"status": after.status, "attributes": dict(after.attributes),
                      "technical_product": after.technical_product},
            "gave": gave, "took": took})
    return out


def _users_diff(before: tuple[str, ...], after: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The users ``after`` has that ``before`` had not, and those it lost. Most changes add
    one user at the end (``_kept``) or change nothing: those are told apart without hashing
    thousands of users."""
    if after == before:
        return [], []
    if len(after) == len(before) + 1 and after[:-1] == before:
        return [after[-1]], []
    had, has = set(before), set(after)
    return [a for a in after if a not in had], [a for a in before if a not in has]


def _gave_and_took(entry: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The users an item record gave the item and took from it (a record written before
    2026-12-01 holds the whole lists of users before and after instead)."""
    if "gave" in entry:
        return list(entry["gave"]), list(entry["took"])
    before, after = entry["before"] or {}, entry["after"]
    return ([a for a in after["assets"] if a not in before.get("assets", [])],
            [a for a in before.get("assets", []) if a not in after["assets"]])


def recorded_item(entry: Mapping[str, Any]) -> InventoryItem:
    """An item as a record left it (for an item no longer in an installed base snapshot):
    its users are those the record gave it (a record holds no other users; one written
    before 2026-12-01 holds them all)."""
    after = entry["after"]
    if "gave" not in entry:
        return _item_of(after)
    users = tuple(entry["gave"]) if after["status"] == ACTIVE else ()
    return InventoryItem(entry["key"], after["technical_product"], dict(after["attributes"]), users,
                         after["status"])


def restoring_changes(record: Mapping[str, Any], asset: Asset | None,
                      items: Mapping[str, InventoryItem], *, order_id: str) -> InstalledBaseChanges:
    """The rows that undo one ``recorded_change`` of order ``order_id`` (its bundle was
    withdrawn: the order cancelled, or the item amended away or changed), given the rows as
    they are now (``items`` by key, any status):

    - an asset the order created is terminated; one it terminated is active again; each
      attribute it changed takes its previous value again, unless something later changed it;
    - an inventory item loses the users the order gave it and gets back those it took; one
      the order created is terminated unless another asset uses it by now; one it
      terminated (or re-activated) gets its previous status back; its attributes as above.

    Idempotent: restoring what is already restored changes nothing."""
    trace = {"order": order_id, "line": None, "action": "restored"}
    asset_change: AssetChange | None = None
    events: list[Event] = []
    entry = record.get("asset")
    if entry is not None and asset is not None:
        before, after = entry["before"], entry["after"]
        if before is None:
            if asset.status != TERMINATED:
                asset_change = AssetTerminate(replace(asset, status=TERMINATED))
                events.append(("ProductStateChangeEvent", {"product": asset.id, "status": TERMINATED,
                                                           "order_item": after.get("order_item_id")}))
        else:
            attributes = _restored(asset.attributes, before["attributes"], after["attributes"])
            status = before["status"] if asset.status == after["status"] else asset.status
            row = replace(asset, attributes=attributes, status=status)
            if row != asset:
                asset_change = AssetUpdate(row)
                changed = sorted(k for k in set(attributes) | set(asset.attributes)
                                 if attributes.get(k) != asset.attributes.get(k))
                if changed:
                    events.append(_attribute_change(asset.id, after.get("order_item_id") or "", changed))
                if status != asset.status:
                    events.append(("ProductStateChangeEvent", {"product": asset.id, "status": status,
                                                               "order_item": after.get("order_item_id")}))
    out: list[ItemChange] = []
    for entry in reversed(record.get("items") or []):
        current = items.get(entry["key"])
        if current is None:
            continue
        before, after = entry["before"], entry["after"]
        gave, took = _gave_and_took(entry)
        users = tuple(a for a in current.assets if a not in gave) + tuple(a for a in took
                                                                          if a not in current.assets)
        if before is None:
            status = ACTIVE if users else TERMINATED
            attributes = dict(current.attributes)
        else:
            status = before["status"] if current.status == after["status"] else current.status
            attributes = _restored(current.attributes, before["attributes"], after["attributes"])
        if status == TERMINATED:
            users = ()
        row = replace(current, assets=users, status=status, attributes=attributes)
        if row != current:
            out.append(InventoryItemRelease(replace(row, lines=_traced(current.lines, trace))))
    return InstalledBaseChanges(asset_change, tuple(out), tuple(events))


def _restored(now: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Each attribute the change set (``before`` -> ``after``) back, unless changed since."""
    out = dict(now)
    for name in set(before) | set(after):
        if before.get(name, _MISSING) == after.get(name, _MISSING) or \
                out.get(name, _MISSING) != after.get(name, _MISSING):
            continue
        if name in before:
            out[name] = before[name]
        else:
            out.pop(name, None)
    return out


_MISSING = object()
