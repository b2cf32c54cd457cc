"""The catalogs a process runs with: the newest deployed version, for new orders, and any
older version by the version string an order recorded, for orders in flight.

Every process (``serve``, ``worker``) holds one registry. Deployment needs no restart:

- the newest version id is polled (one ``SELECT max(id)``) at most every
  ``refresh_seconds`` (default 2 s), when the current catalog is asked for; a new id is read
  and loaded (checked like files) and becomes current. So an API node places new orders
  with a deployed catalog within ``refresh_seconds`` of the deployment;
- an order in flight is always run with the catalog its ``catalog_version`` names, loaded
  from ``catalog_versions`` on first use and kept in a small LRU (``cache_size`` versions);
- an order whose version is not stored (placed before versions were stored) runs with the
  current catalog, as before.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache
from typing import Any, Iterable

import structlog
from sqlalchemy.engine import Engine

from ..domain.catalog import Catalog
from ..domain.clock import Clock
from ..domain.loaded_catalog import LoadedCatalog
from ..domain.errors import ConcurrentChange, InvalidCatalog, Issue
from .catalog_files import CatalogLoadError
from .catalog_texts import load_catalog_texts, read_catalog_texts
from .store import catalog_versions as versions

log = structlog.get_logger("ordertower.catalog")

REFRESH_SECONDS = 2.0
CACHE_SIZE = 8


class CatalogRegistry:
    def __init__(self, engine: Engine, clock: Clock, known_steps: Iterable[str] | None = None, *,
                 refresh_seconds: float = REFRESH_SECONDS, cache_size: int = CACHE_SIZE):
        self.engine, self.clock = engine, clock
        # kept as given: a StepRegistry also says why a step could not be loaded
        self.known_steps = known_steps
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._current: LoadedCatalog | None = None
        self._current_id: int | None = None
        self._checked = 0.0
        self._refreshing = threading.Lock()  # held while a background check runs
        self._stored = lru_cache(maxsize=cache_size)(self._load_release)

    # --- start ---------------------------------------------------------------------------

    def open(self, files_catalog: LoadedCatalog, *, deploy_files: bool, who: str) -> None:
        """At start: on an empty table the files catalog becomes version 1; with
        ``deploy_files`` (``serve --catalog PATH``) files that differ from the newest version
        are deployed as a new version; otherwise the newest version is current."""
        for _ in range(5):  # another process may store one at the same moment: read again
            newest = versions.newest_id(self.engine)
            row = versions.version_by_id(self.engine, newest, with_files=False) if newest else None
            if row is not None and (not deploy_files or row["digest"] == files_catalog.digest):
                break
            note = "first start" if row is None else "started with --catalog"
            try:
                row = self._store(files_catalog, who, note)
                log.info("catalog version stored", version=row["id"], release=row["release"],
                         note=note)
                break
            except versions.CatalogVersionTaken:
                continue
        else:  # pragma: no cover - five collisions in a row
            raise RuntimeError("could not record the catalog version: too many concurrent starts")
        if row["digest"] != files_catalog.digest:
            log.info("running the newest deployed catalog version, not the files",
                     version=row["id"], release=row["release"], files=files_catalog.version)
        self._switch(row["id"], files_catalog if row["digest"] == files_catalog.digest else None)

    def _store(self, loaded: LoadedCatalog, who: str, note: str | None) -> dict[str, Any]:
        return versions.store_version(self.engine, self.clock, files=_texts_of(loaded),
                                      digest=loaded.digest,
                                      release=loaded.version, deployed_by=who, note=note)

    # --- deploying (services/deploy_catalog.py) -------------------------------------------

    def check(self, files: dict[str, str]) -> LoadedCatalog:
        """Load catalog texts as ``catalog validate`` would; InvalidCatalog lists every
        problem (``files.<name>:<line>``, the path in the document, the message)."""
        try:
            return load_catalog_texts(files, known_steps=self.known_steps)
        except CatalogLoadError as exc:
            raise InvalidCatalog([
                Issue(f"files.{p.file}" + (f":{p.line}" if p.line else ""),
                      f"{p.path}: {p.message}" if p.path else p.message)
                for p in exc.problems]) from None

    def deploy(self, loaded: LoadedCatalog, files: dict[str, str], who: str,
               note: str | None = None) -> dict[str, Any]:
        """Store a checked catalog as the newest version; this process uses it at once,
        the others within ``refresh_seconds``."""
        try:
            row = versions.store_version(self.engine, self.clock, files=files, digest=loaded.digest,
                                         release=loaded.version, deployed_by=who, note=note)
        except versions.CatalogVersionTaken:
            raise ConcurrentChange("the catalog versions (another deployment at the same "
                                   "moment)") from None
        with self._lock:
            self._switch(row["id"], loaded)
        log.info("catalog deployed", version=row["id"], release=row["release"], by=who, note=note)
        return row

    def version(self, version_id: int) -> dict[str, Any] | None:
        return versions.version_by_id(self.engine, version_id)

    def versions(self) -> list[dict[str, Any]]:
        return versions.list_versions(self.engine)

    def newest(self) -> dict[str, Any] | None:
        newest = versions.newest_id(self.engine)
        return versions.version_by_id(self.engine, newest, with_files=False) if newest else None

    # --- the current version ---------------------------------------------------------------

    @property
    def current(self) -> LoadedCatalog:
        if time.monotonic() - self._checked >= self.refresh_seconds:
            self.refresh()
        assert self._current is not None, "CatalogRegistry.open was not called"
        return self._current

    @property
    def in_use(self) -> LoadedCatalog:
        """The current version without waiting on the database, for code on the event loop
        (``/health``, ``/metrics``, the console's pages), which must never wait on the API's
        pool: when a check is due it runs in a thread of its own, and a newer version is
        used from the next call on."""
        if time.monotonic() - self._checked >= self.refresh_seconds and self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh_then_release, name="catalog-refresh", daemon=True).start()
        assert self._current is not None, "CatalogRegistry.open was not called"
        return self._current

    def _refresh_then_release(self) -> None:
        try:
            self.refresh()
        finally:
            self._refreshing.release()

    @property
    def current_id(self) -> int | None:
        return self._current_id

    def refresh(self) -> bool:
        """Poll the newest version id; switch to it if it changed. True if it did."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                newest = versions.newest_id(self.engine)
            except Exception as exc:  # database unavailable: keep running what we have
                log.warning("could not check the newest catalog version", error=str(exc))
                return False
            if newest is None or newest == self._current_id:
                return False
            return self._switch(newest)

    def _switch(self, version_id: int, loaded: LoadedCatalog | None = None) -> bool:
        if loaded is None:
            row = versions.version_by_id(self.engine, version_id)
            if row is None:  # pragma: no cover - versions are never deleted
                return False
            loaded = self._stored(row["release"]) or self._load(row)
        before = self._current.version if self._current else None
        self._current, self._current_id = loaded, version_id
        self._checked = time.monotonic()
        if before is not None and before != loaded.version:
            log.info("catalog version now current", version=version_id, release=loaded.version,
                     before=before)
        return True

    # --- any version, by what an order recorded -----------------------------------------------

    def for_release(self, release: str | None) -> LoadedCatalog:
        """The catalog an order recorded (``orders.catalog_version``); the current one when
        ``release`` is None or not stored (orders from before versions were stored)."""
        current = self._current if self._current is not None else self.current
        if not release or release == current.version:
            return current
        return self._stored(release) or current

    def catalog_for(self, release: str | None = None) -> Catalog:
        return self.for_release(release).catalog

    def _load_release(self, release: str) -> LoadedCatalog | None:
        row = versions.version_by_release(self.engine, release)
        if row is None:
            log.warning("catalog version not stored; using the current one", release=release)
            return None
        return self._load(row)

    def _load(self, row: dict[str, Any]) -> LoadedCatalog:
        return load_catalog_texts(row["files"], known_steps=self.known_steps)


def _texts_of(loaded: LoadedCatalog) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in loaded.files:
        texts.update(read_catalog_texts(path))
    return texts
