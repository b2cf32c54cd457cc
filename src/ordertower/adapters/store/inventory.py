"""The installed base in the store: a customer's assets and technical inventory items.

``snapshot`` reads what decomposition compares an order with; ``record_changes`` writes what
a completed bundle changed for one asset (called when an assetize step completes, inside the transaction
that completes the ``assetize`` item) by the rule ``domain/inventory.installed_base_changes``,
which ``InstalledBase.apply`` follows in memory too."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ...domain.inventory import (ACTIVE, Asset, AssetChange, AssetInsert, AssetTerminate, InstalledBase,
                                 InventoryItem, InventoryItemInsert, installed_base_changes,
                                 RowsToRead, recorded_change, restoring_changes, rows_to_read)
from .statements import chunks as _chunks, insert_rows
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

    def record_changes(self, changes: list[tuple[dict[str, Any], dict[str, Any]]], now: datetime,
                       new_id) -> list[tuple[list[tuple[str, dict[str, Any]]], dict[str, Any] | None]]:
        """Apply asset changes (``inventory.asset_changes`` records, each with its order), in
        this sequence, as if one after the other; for each, the events to write and what it
        wrote (``inventory.recorded_change``, None if nothing). The rule is
        ``domain/inventory.installed_base_changes``: the rows it needs for all the changes are
        read (and locked: assets, then items, each in key order) at once, the rule is applied
        change by change in memory (each seeing what the ones before it changed), and the rows
        are written in a few statements for the whole sequence. Idempotent: recording the same
        changes twice writes nothing the second time.

        An item another transaction inserted after it was read (a shared, account-scope item,
        PostgreSQL) makes the inserts roll back to a savepoint and everything read again."""
        if not changes:
            return []
        reads = [rows_to_read(c) for _, c in changes]
        while True:
            assets_read, items_read = self._rows_for_all(reads)
            results, writes = self._apply_in_memory(changes, reads, assets_read, items_read, new_id)
            if self._insert_items(writes.item_inserts, now):
                break
        self._write_assets(writes.assets, now)
        self._update_items(writes.item_updates, now)
        return results

    def _rows_for_all(self, reads: list[RowsToRead]) -> tuple[dict[str, Asset], dict[str, InventoryItem]]:
        """The rows the rule reads for these changes (``rows_to_read`` of each), locked in one
        order: the assets, then the items (by key), then the items anchored to an asset deleted."""
        asset_ids = sorted({r.asset_id for r in reads})
        keys = sorted({k for r in reads for k in r.item_keys})
        assets_read: dict[str, Asset] = {}
        for chunk in _chunks(asset_ids):
            q = sa.select(assets).where(assets.c.id.in_(chunk)).order_by(assets.c.id).with_for_update()
            assets_read.update((r["id"], self._asset_of(r)) for r in self.conn.execute(q).mappings())
        items_read: dict[str, InventoryItem] = {}
        for chunk in _chunks(keys):
            q = (sa.select(inventory_items).where(inventory_items.c.key.in_(chunk))
                 .order_by(inventory_items.c.key).with_for_update())
            items_read.update((r["key"], self._item_of(r)) for r in self.conn.execute(q).mappings())
        for asset_id in sorted({r.asset_id for r in reads if r.anchored}):
            items_read.update((r["key"], self._item_of(r)) for r in self.anchored_to(asset_id, for_update=True))
        return assets_read, items_read

    @staticmethod
    def _apply_in_memory(changes, reads: list[RowsToRead], assets_read: dict[str, Asset],
                         items_read: dict[str, InventoryItem], new_id) -> tuple[list, "_Writes"]:
        """The rule applied change by change to the rows read, each change seeing the rows as
        the ones before it left them; the results of ``record_changes`` and what to write."""
        assets_now, items_now = dict(assets_read), dict(items_read)
        results: list[tuple[list[tuple[str, dict[str, Any]]], dict[str, Any] | None]] = []
        writes = _Writes()
        for (order, change), read in zip(changes, reads):
            asset = assets_now.get(read.asset_id)
            items = {k: items_now[k] for k in read.item_keys if k in items_now}
            if read.anchored:
                prefix = f"{read.asset_id}/"
                items.update((k, v) for k, v in items_now.items()
                             if k.startswith(prefix) and v.status == ACTIVE)
            planned = installed_base_changes(change, asset, items, order_id=order["id"],
                                             customer_id=order["customer_id"], new_id=new_id)
            if planned.asset is not None:
                assets_now[planned.asset.asset.id] = planned.asset.asset
                writes.assets.append(planned.asset)
            for item_change in planned.items:
                row = item_change.item
                items_now[row.key] = row
                if isinstance(item_change, InventoryItemInsert):
                    writes.item_inserts[row.key] = item_change
                elif row.key in writes.item_inserts:  # inserted by a change before: as it is now
                    writes.item_inserts[row.key] = replace(writes.item_inserts[row.key], item=row)
                else:
                    writes.item_updates[row.key] = row
            results.append((list(planned.events), recorded_change(asset, items, planned)))
        return results, writes

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

    def _insert_items(self, inserts: dict[str, InventoryItemInsert], now: datetime) -> bool:
        """Insert these items, all or none (a savepoint): False, and nothing inserted, when one
        of them exists already (another transaction recorded it since it was read)."""
        if not inserts:
            return True
        rows = [{"id": c.id, "customer_id": c.customer_id, "key": c.item.key,
                 "technical_product": c.item.technical_product, "attributes": c.item.attributes,
                 "status": c.item.status, "assets": list(c.item.assets), "lines": list(c.item.lines),
                 "created_at": now, "updated_at": now} for c in inserts.values()]
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        statement = (insert(inventory_items).on_conflict_do_nothing(index_elements=["key"])
                     .returning(inventory_items.c.key))
        savepoint = self.conn.begin_nested()
        inserted = sum(len(self.conn.execute(statement, chunk).all()) for chunk in _chunks(rows))
        if inserted == len(rows):
            savepoint.commit()
            return True
        savepoint.rollback()
        return False

    def _update_items(self, updates: dict[str, InventoryItem], now: datetime) -> None:
        """Each item as the last change left it: one statement for all."""
        if not updates:
            return
        statement = inventory_items.update().where(inventory_items.c.key == sa.bindparam("b_key")).values(
            attributes=sa.bindparam("b_attributes"), status=sa.bindparam("b_status"),
            assets=sa.bindparam("b_assets"), lines=sa.bindparam("b_lines"), updated_at=now)
        rows = [{"b_key": r.key, "b_attributes": r.attributes, "b_status": r.status,
                 "b_assets": list(r.assets), "b_lines": list(r.lines)} for r in updates.values()]
        for chunk in _chunks(rows):
            self.conn.execute(statement, chunk)

    def _write_assets(self, changes: list[AssetChange], now: datetime) -> None:
        """The asset changes, in sequence; the inserts of assets written once, in one statement."""
        written = Counter(c.asset.id for c in changes)
        once = [c for c in changes if isinstance(c, AssetInsert) and written[c.asset.id] == 1]
        insert_rows(self.conn, assets, [_asset_row(c.asset, now) for c in once])
        for change in changes:
            if written[change.asset.id] > 1 or not isinstance(change, AssetInsert):
                self._write_asset(change, now)

    def _write_asset(self, change: AssetChange | None, now: datetime) -> None:
        if change is None:
            return
        row = change.asset
        if isinstance(change, AssetInsert):
            self.conn.execute(assets.insert(), _asset_row(row, now))
        elif isinstance(change, AssetTerminate):
            self.update_asset(row.id, now, status=row.status, terminated_at=now)
        else:  # an update (active again after a restore or a re-add by its own order)
            self.update_asset(row.id, now, attributes=row.attributes, lines=list(row.lines),
                              billing_account_id=row.billing_account_id, status=row.status,
                              **({"terminated_at": None} if row.status == ACTIVE else {}))


def _asset_row(row: Asset, now: datetime) -> dict[str, Any]:
    """The ``assets`` row of an asset inserted now."""
    return {"id": row.id, "customer_id": row.customer_id, "offering_id": row.offering_id,
            "name": row.offering_id, "status": row.status, "attributes": row.attributes,
            "order_id": row.order_id, "order_item_id": row.order_item_id, "lines": list(row.lines),
            "billing_account_id": row.billing_account_id, "root_asset_id": row.root_asset_id,
            "instance": row.instance, "instance_of": row.instance_of, "created_at": now,
            "updated_at": now}


@dataclass
class _Writes:
    """What a sequence of asset changes writes: the asset changes in order, the items to insert
    and to update, each as the last change left it (by key)."""

    assets: list[AssetChange] = field(default_factory=list)
    item_inserts: dict[str, InventoryItemInsert] = field(default_factory=dict)
    item_updates: dict[str, InventoryItem] = field(default_factory=dict)


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
