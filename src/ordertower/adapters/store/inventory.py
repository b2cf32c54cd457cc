"""The installed base in the store: a customer's assets and technical inventory items.

``snapshot`` reads what decomposition compares an order with; ``record_change`` writes what
a completed bundle changed for one asset (called when an assetize step completes, inside the transaction
that completes the ``assetize`` item), as ``InstalledBase.apply`` does in memory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from ...domain.inventory import ACTIVE, TERMINATED, Asset, InstalledBase, InventoryItem
from .tables import assets, inventory_items


class InventoryRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    # --- reading -----------------------------------------------------------------------

    def snapshot(self, customer_id: str, excluding_order: str | None = None) -> InstalledBase:
        """The customer's assets (any status) and active inventory items; with
        ``excluding_order``, without what that order itself created (an amendment compares
        with the installed base as it was before the order)."""
        asset_rows = self.conn.execute(sa.select(
            assets.c.id, assets.c.offering_id, assets.c.attributes, assets.c.status,
            assets.c.customer_id, assets.c.root_asset_id, assets.c.order_id).where(
            assets.c.customer_id == customer_id)).mappings().all()
        item_rows = self.conn.execute(sa.select(
            inventory_items.c.key, inventory_items.c.technical_product, inventory_items.c.attributes,
            inventory_items.c.assets, inventory_items.c.status, inventory_items.c.lines).where(
            inventory_items.c.customer_id == customer_id,
            inventory_items.c.status == ACTIVE)).mappings().all()
        if excluding_order is not None:
            asset_rows = [r for r in asset_rows if r["order_id"] != excluding_order]
            item_rows = [r for r in item_rows
                         if not r["lines"] or any(t.get("order") != excluding_order for t in r["lines"])]
        return InstalledBase(
            customer_id,
            {r["id"]: Asset(r["id"], r["offering_id"], dict(r["attributes"]), r["status"],
                            r["customer_id"], r["root_asset_id"]) for r in asset_rows},
            {r["key"]: InventoryItem(r["key"], r["technical_product"], dict(r["attributes"]),
                                     tuple(r["assets"]), r["status"]) for r in item_rows})

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

    def anchored_to(self, asset_id: str) -> list[dict[str, Any]]:
        """Items whose key starts with the asset's id (item and root scope)."""
        q = sa.select(inventory_items).where(
            inventory_items.c.key.startswith(f"{asset_id}/", autoescape=True),
            inventory_items.c.status == ACTIVE)
        return [dict(r) for r in self.conn.execute(q).mappings()]

    # --- writing -----------------------------------------------------------------------

    def add_item(self, row: dict[str, Any]) -> bool:
        """Insert an item unless one with its key exists already (another order's bundle may
        have recorded a shared, account-scope item a moment ago). True if inserted."""
        insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        result = self.conn.execute(insert(inventory_items).values(**row)
                                   .on_conflict_do_nothing(index_elements=["key"]))
        return result.rowcount == 1

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
                      new_id) -> list[tuple[str, dict[str, Any]]]:
        """Apply one asset change (``inventory.asset_changes``); returns the events to write.
        Idempotent: recording the same change twice leaves the same rows."""
        asset_id, action = change["asset_id"], change["action"]
        events: list[tuple[str, dict[str, Any]]] = []
        current = self.asset(asset_id, for_update=True)
        if action == "add" and current is None:
            self.conn.execute(assets.insert().values(
                id=asset_id, customer_id=order["customer_id"], offering_id=change["offering_id"],
                name=change["offering_id"], status=ACTIVE, attributes=change["attributes"],
                order_id=order["id"], order_item_id=change["order_item_id"], lines=change["lines"],
                billing_account_id=change.get("billing_account_id"),
                root_asset_id=change.get("root_asset_id"), created_at=now, updated_at=now))
            events.append(("ProductCreateEvent", {"product": asset_id, "offering": change["offering_id"],
                                                  "order_item": change["order_item_id"]}))
        elif action == "add" and current is not None and current["order_id"] == order["id"] \
                and current["attributes"] != change["attributes"]:
            # the same order, amended after its bundle was recorded: the asset follows it
            self.update_asset(asset_id, now, attributes=change["attributes"], lines=change["lines"],
                              billing_account_id=change.get("billing_account_id")
                              or current["billing_account_id"])
            events.append(("ProductAttributeValueChangeEvent", {
                "product": asset_id, "order_item": change["order_item_id"],
                "changed": sorted(k for k in set(change["attributes"]) | set(current["attributes"])
                                  if current["attributes"].get(k) != change["attributes"].get(k))}))
        elif action == "modify" and current is not None:
            attributes = dict(current["attributes"]) | change["attributes"]
            if attributes != current["attributes"]:
                events.append(("ProductAttributeValueChangeEvent", {
                    "product": asset_id, "order_item": change["order_item_id"],
                    "changed": sorted(k for k, v in change["attributes"].items()
                                      if current["attributes"].get(k) != v)}))
            self.update_asset(asset_id, now, attributes=attributes,
                              billing_account_id=change.get("billing_account_id")
                              or current["billing_account_id"])
        elif action == "delete" and current is not None and current["status"] != TERMINATED:
            self.update_asset(asset_id, now, status=TERMINATED, terminated_at=now)
            events.append(("ProductStateChangeEvent", {"product": asset_id, "status": TERMINATED,
                                                       "order_item": change["order_item_id"]}))
        for use in change["inventory"]:
            self._use(order, asset_id, use, now, new_id)
        if action == "delete":  # what only this asset used, and no rule disconnected, goes too
            for row in self.anchored_to(asset_id):
                self._use(order, asset_id, {"key": row["key"], "use": "leave", "action": None,
                                            "line_id": None}, now, new_id)
        return events

    def _use(self, order: dict[str, Any], asset_id: str, use: dict[str, Any], now: datetime,
             new_id) -> None:
        row = self.item(use["key"], for_update=True)
        trace = [{"order": order["id"], "line": use.get("line_id"), "action": use.get("action")}]
        if use["use"] == "keep":
            if row is None:
                if self.add_item({"id": new_id(), "customer_id": order["customer_id"], "key": use["key"],
                                  "technical_product": use["technical_product"],
                                  "attributes": use["attributes"], "status": ACTIVE, "assets": [asset_id],
                                  "lines": trace, "created_at": now, "updated_at": now}):
                    return
                row = self.item(use["key"], for_update=True)
            users = list(dict.fromkeys(row["assets"])) if row["status"] == ACTIVE else []
            if asset_id not in users:
                users.append(asset_id)
            self.update_item(use["key"], attributes=use["attributes"], status=ACTIVE, assets=users,
                             lines=_traced(row["lines"], trace), updated_at=now)
            return
        if row is None or row["status"] != ACTIVE:
            return
        users = [a for a in row["assets"] if a != asset_id]
        ends = not users or use.get("action") == "delete"
        self.update_item(use["key"], assets=users, status=TERMINATED if ends else ACTIVE,
                         lines=_traced(row["lines"], trace), updated_at=now)


def _traced(lines: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(lines) + [t for t in new if t not in lines]
