"""Use case: deploy a catalog version without a restart, list the versions, roll back, and
see beforehand what a new version would change on real orders (``--dry-run``).

- ``deploy``: check the files as ``catalog validate`` does (bad: 422 naming every problem,
  nothing stored), store them as the newest version with who deployed them. New orders use
  it at once in this process, within seconds in the others (adapters/catalog_registry.py);
  orders in flight keep the version they were decomposed with.
- ``redeploy``: deploy the files of an earlier version again, as a new version (a rollback
  is a deployment, with its own who and when).
- ``dry_run``: replay the newest stored orders (default 1,000) through validation,
  decomposition and planning with the current and the new catalog (domain/catalog_replay.py),
  nothing written, and report what differs, grouped by rule.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..domain.catalog_replay import StoredOrder, replay
from ..domain.errors import NotFound
from ..domain.inventory import InstalledBase
from ..domain.loaded_catalog import LoadedCatalog
from ..engine.ports import Store
from .errors import Conflict

DRY_RUN_ORDERS = 1000


class CatalogVersions(Protocol):
    """The catalogs of the process (adapters/catalog_registry.py: CatalogRegistry)."""

    @property
    def current(self) -> LoadedCatalog: ...
    def check(self, files: dict[str, str]) -> LoadedCatalog: ...
    def deploy(self, loaded: LoadedCatalog, files: dict[str, str], who: str,
               note: str | None = None) -> dict[str, Any]: ...
    def version(self, version_id: int) -> dict[str, Any] | None: ...
    def versions(self) -> list[dict[str, Any]]: ...
    def newest(self) -> dict[str, Any] | None: ...


def _refuse_same(catalogs: CatalogVersions, loaded: LoadedCatalog) -> None:
    newest = catalogs.newest()
    if newest is not None and newest["digest"] == loaded.digest:
        raise Conflict(f"These files are the current catalog already (version {newest['id']}, "
                       f"{newest['release']}); nothing was deployed.", "files")


def deploy(catalogs: CatalogVersions, files: dict[str, str], actor: str) -> dict[str, Any]:
    """Check and store ``files`` ({name: YAML text}) as the newest version."""
    loaded = catalogs.check(files)
    _refuse_same(catalogs, loaded)
    return catalogs.deploy(loaded, files, actor)


def redeploy(catalogs: CatalogVersions, version_id: int, actor: str) -> dict[str, Any]:
    """Deploy the files of version ``version_id`` again (a rollback), as a new version."""
    row = catalogs.version(version_id)
    if row is None:
        raise NotFound("catalog version", str(version_id))
    loaded = catalogs.check(row["files"])
    _refuse_same(catalogs, loaded)
    return catalogs.deploy(loaded, row["files"], actor, note=f"rollback to version {version_id}")


def list_versions(catalogs: CatalogVersions) -> list[dict[str, Any]]:
    """Every deployed version, newest first (without files)."""
    return catalogs.versions()


def stored_orders(store: Store, limit: int) -> list[StoredOrder]:
    """The newest ``limit`` orders, each with the installed base it is checked against: its
    customer's, without what the order itself created (as an amendment sees it)."""
    with store.read() as uow:
        rows = uow.orders.newest_items(limit)
        installed = uow.inventory.snapshots([(r["customer_id"], r["id"]) for r in rows
                                             if r["customer_id"]])
    return [StoredOrder(r["id"], r["customer_id"], r["items"],
                        installed.get(r["id"]) or InstalledBase.empty())
            for r in rows]


def dry_run(store: Store, catalogs: CatalogVersions, *, files: dict[str, str] | None = None,
            version_id: int | None = None, limit: int = DRY_RUN_ORDERS) -> dict[str, Any]:
    """What deploying ``files`` (or version ``version_id`` again) would change on the newest
    ``limit`` stored orders. Nothing is written."""
    if version_id is not None:
        row = catalogs.version(version_id)
        if row is None:
            raise NotFound("catalog version", str(version_id))
        files = row["files"]
    new = catalogs.check(files or {})
    current = catalogs.current
    started = time.perf_counter()
    orders = stored_orders(store, limit)
    read = time.perf_counter()
    report = replay(orders, current.catalog, new.catalog).as_dict()
    return {"current": current.version, "new": new.version, **report,
            "seconds": {"read": round(read - started, 3),
                        "replay": round(time.perf_counter() - read, 3)}}
