"""The installed base in the store: a customer's assets and technical inventory items.

``snapshot`` reads what decomposition compares an order with; ``record_change`` writes what
a completed bundle changed for one asset (called when an assetize step completes, inside the transaction
that completes the ``assetize`` item) by the rule ``domain/inventory.installed_base_changes``,
which ``InstalledBase.apply`` follows in memory too."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ...domain.inventory import (ACTIVE, Asset, AssetChange, AssetInsert, AssetTerminate, InstalledBase,
                                 InventoryItem, InventoryItemInsert, installed_base_changes,
                                 recorded_change, restoring_changes, rows_to_read)
from .tables import assets, inventory_items


class InventoryRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    # --- reading -----------------------------------------------------------------------

    ASSET_COLUMNS = ("id", "offering_id", "attributes", "status", "customer_id", "root_asset_id",
                     "order_id", "instance", "instance_of")
    ITEM_COLUMNS = ("key", "technical_product", "attributes", "assets", "status", "lines",
                    "customer_id")

    def _rows(self, customer_ids: list[str]) -> tuple[list, list]:
        asset_rows = self.conn.execute(sa.select(*(assets.c[n] for n in self.ASSET_COLUMNS)).where(
            assets.c.customer_id.in_(customer_ids))).mappings().all()
        item_rows = self.conn.execute(sa.select(*(inventory_items.c[n] for n in self.ITEM_COLUMNS))
                                      .where(inventory_items.c.customer_id.in_(customer_ids),
                                             inventory_items.c.status == ACTIVE)).mappings().all()
        return asset_rows, item_rows

    def snapshot(self, customer_id: str, excluding_order: str | None = None) -> InstalledBase:
        """The customer's assets (any status) and active inventory items; with
        ``excluding_order``, without what that order itself created (an amendment compares
        with the installed base as it was before the order)."""
        asset_rows, item_rows = self._rows([customer_id])
        return _installed(customer_id, asset_rows, item_rows, excluding_order)

    def snapshots(self, orders: list[tuple[str, str]]) -> dict[str, InstalledBase]:
        """``snapshot(customer, excluding_order=order)`` of many (customer, order) pairs at
        once (two reads per 500 customers): order id -> installed base."""
        customers = sorted({c for c, _ in orders})
        by_customer: dict[str, tuple[list, list]] = {c: ([], []) for c in customers}
        for start in range(0, len(customers), 500):
            asset_rows, item_rows = self._rows(customers[start:start + 500])
            for r in asset_rows:
                by_customer[r["customer_id"]][0].append(r)
            for r in item_rows:
                by_customer[r["customer_id"]][1].append(r)
        return {order: _installed(customer, *by_customer[customer], order)
                for customer, order in orders}

    def items(self, customer_id: str | None = None, status: str | None = None,
              asset_id: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(inventory_items)
        if customer_id is not None:
            q = q.where(inventory_items.c.customer_id == customer_id)
        if status is not None:
            q = q.where(inventory_items.c.status == status)
        rows = [dict(r) for r in self.conn.execute(q.order_by(inventory_items.c.created_at,
                                                               inventory_items.c.key)).mappings()]
        return [r for r in rows if asset_id is None or asset_id in r["assets"]]

    def item(self, key: str, *, for_update: bool = False) -> dict[str, Any] | None:
        q = sa.select(inventory_items).where(inventory_items.c.key == key)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def anchored_to(self, asset_id: str, *, for_update: bool = False) -> list[dict[str, Any]]:
        """Active items whose key starts with the asset's id (item and root scope)."""
        q = sa.select(inventory_items).where(
            inventory_items.c.key.startswith(f"{asset_id}/", autoescape=True),
            inventory_items.c.status == ACTIVE).order_by(inventory_items.c.key)
        if for_update:
            q = q.with_for_update()
        return [dict(r) for r in self.conn.execute(q).mappings()]

    # --- writing -----------------------------------------------------------------------

    def add_item(self, row: dict[str, Any]) -> bool:
        """Insert an item unless one with its key exists already (another order's bundle may
        have recorded a shared, account-scope item a moment ago). True if inserted."""
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        result = self.conn.execute(insert(inventory_items).values(**row)
                                   .on_conflict_do_nothing(index_elements=["key"])
                                   .returning(inventory_items.c.key))
        return result.first() is not None  # (rowcount is not reliable here on PostgreSQL)

    def update_item(self, key: str, **values: Any) -> None:
        self.conn.execute(inventory_items.update().where(inventory_items.c.key == key).values(**values))

    def asset(self, asset_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        q = sa.select(assets).where(assets.c.id == asset_id)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def update_asset(self, asset_id: str, now: datetime, **values: Any) -> None:
        self.conn.execute(assets.update().where(assets.c.id == asset_id).values(updated_at=now, **values))

    def record_change(self, order: dict[str, Any], change: dict[str, Any], now: datetime,
                      new_id, journal: list[dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Apply one asset change (``inventory.asset_changes``); returns the events to write.
        The rule is ``domain/inventory.installed_base_changes``: read (and lock) the rows it
        needs, ask it, write what it says. Idempotent: recording the same change twice
        writes nothing the second time. With ``journal``, what was written (before and after
        each row, ``inventory.recorded_change``) is appended to it."""
        ours: list[InventoryItemInsert] = []  # inserted by an earlier round of this loop
        while True:
            asset, items = self._rows_for(change)
            planned = installed_base_changes(change, asset, items, order_id=order["id"],
                                             customer_id=order["customer_id"], new_id=new_id)
            inserts = [c for c in planned.items if isinstance(c, InventoryItemInsert)]
            inserted = [c for c in inserts if self._insert_item(c, now)]
            ours += inserted
            if len(inserted) == len(inserts):
                break
            # another transaction recorded a shared (account-scope) item since it was read:
            # read again (what this loop inserted is read as already recorded, so unchanged)
        self._write_asset(planned.asset, now)
        for item_change in planned.items:
            if not isinstance(item_change, InventoryItemInsert):
                row = item_change.item
                self.update_item(row.key, attributes=row.attributes, status=row.status,
                                 assets=list(row.assets), lines=list(row.lines), updated_at=now)
        if journal is not None:
            mine = {c.item.key for c in ours}
            written = recorded_change(asset, {k: v for k, v in items.items() if k not in mine},
                                      replace(planned, items=tuple(ours) + tuple(
                                          c for c in planned.items if c not in ours)))
            if written is not None:
                journal.append(written)
        return list(planned.events)

    def restore_change(self, order: dict[str, Any], record: dict[str, Any],
                       now: datetime) -> list[tuple[str, dict[str, Any]]]:
        """Undo one recorded change (``inventory.recorded_change``) by the rule
        ``domain/inventory.restoring_changes``; returns the events to write. Idempotent."""
        asset = None
        if record.get("asset") is not None:
            row = self.asset(record["asset"]["id"], for_update=True)
            asset = None if row is None else self._asset_of(row)
        rows = [self.item(entry["key"], for_update=True) for entry in record.get("items") or []]
        items = {r["key"]: self._item_of(r) for r in rows if r is not None}
        planned = restoring_changes(record, asset, items, order_id=order["id"])
        self._write_asset(planned.asset, now)
        for change in planned.items:
            row = change.item
            self.update_item(row.key, attributes=row.attributes, status=row.status,
                             assets=list(row.assets), lines=list(row.lines), updated_at=now)
        return list(planned.events)

    @staticmethod
    def _asset_of(row: dict[str, Any]) -> Asset:
        return Asset(row["id"], row["offering_id"], dict(row["attributes"]), row["status"], row["customer_id"],
                     row["root_asset_id"], row["order_id"], row["order_item_id"], tuple(row["lines"]),
                     row["billing_account_id"], row["instance"], row["instance_of"])

    @staticmethod
    def _item_of(row: dict[str, Any]) -> InventoryItem:
        return InventoryItem(row["key"], row["technical_product"], dict(row["attributes"]),
                             tuple(row["assets"]), row["status"], tuple(row["lines"]))

    def _rows_for(self, change: dict[str, Any]) -> tuple[Asset | None, dict[str, InventoryItem]]:
        """The rows the rule reads, locked in one order: the asset, then the items."""
        reads = rows_to_read(change)
        row = self.asset(reads.asset_id, for_update=True)
        asset = None if row is None else self._asset_of(row)
        rows = [self.item(key, for_update=True) for key in reads.item_keys]
        if reads.anchored:
            rows += self.anchored_to(reads.asset_id, for_update=True)
        return asset, {r["key"]: self._item_of(r) for r in rows if r is not None}

    def _insert_item(self, change: InventoryItemInsert, now: datetime) -> bool:
        row = change.item
        return self.add_item({"id": change.id, "customer_id": change.customer_id, "key": row.key,
                              "technical_product": row.technical_product, "attributes": row.attributes,
                              "status": row.status, "assets": list(row.assets), "lines": list(row.lines),
                              "created_at": now, "updated_at": now})

    def _write_asset(self, change: AssetChange | None, now: datetime) -> None:
        if change is None:
            return
        row = change.asset
        if isinstance(change, AssetInsert):
            self.conn.execute(assets.insert().values(
                id=row.id, customer_id=row.customer_id, offering_id=row.offering_id, name=row.offering_id,
                status=row.status, attributes=row.attributes, order_id=row.order_id,
                order_item_id=row.order_item_id, lines=list(row.lines),
                billing_account_id=row.billing_account_id, root_asset_id=row.root_asset_id,
                instance=row.instance, instance_of=row.instance_of, created_at=now, updated_at=now))
        elif isinstance(change, AssetTerminate):
            self.update_asset(row.id, now, status=row.status, terminated_at=now)
        else:  # an update (active again after a restore or a re-add by its own order)
            self.update_asset(row.id, now, attributes=row.attributes, lines=list(row.lines),
                              billing_account_id=row.billing_account_id, status=row.status,
                              **({"terminated_at": None} if row.status == ACTIVE else {}))


def _installed(customer_id: str, asset_rows, item_rows, excluding_order: str | None) -> InstalledBase:
    if excluding_order is not None:
        asset_rows = [r for r in asset_rows if r["order_id"] != excluding_order]
        item_rows = [r for r in item_rows
                     if not r["lines"] or any(t.get("order") != excluding_order for t in r["lines"])]
    return InstalledBase(
        customer_id,
        {r["id"]: Asset(r["id"], r["offering_id"], dict(r["attributes"]), r["status"],
                        r["customer_id"], r["root_asset_id"], r["order_id"],
                        instance=r["instance"], instance_of=r["instance_of"]) for r in asset_rows},
        {r["key"]: InventoryItem(r["key"], r["technical_product"], dict(r["attributes"]),
                                 tuple(r["assets"]), r["status"]) for r in item_rows})
