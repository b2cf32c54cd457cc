"""The deployed catalog versions (table ``catalog_versions``): store one, read the newest, one
by id or by the version string an order records, and list them.

Ids count 1, 2, 3...: a new row takes the highest id + 1; two processes storing at once
collide on the primary key, and the loser reads again (``CatalogVersionTaken``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ...domain.clock import Clock
from .tables import catalog_versions as t

SUMMARY = (t.c.id, t.c.release, t.c.digest, t.c.deployed_by, t.c.deployed_at, t.c.note)


class CatalogVersionTaken(Exception):
    """Another process stored a version with the same id first."""


def newest_id(engine: Engine) -> int | None:
    """The id of the newest version (one indexed read: what each process polls)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(t.c.id))).scalar_one_or_none()


def version_by_id(engine: Engine, version_id: int, *, with_files: bool = True) -> dict[str, Any] | None:
    cols = (*SUMMARY, t.c.files) if with_files else SUMMARY
    with engine.connect() as conn:
        row = conn.execute(sa.select(*cols).where(t.c.id == version_id)).mappings().first()
    return dict(row) if row else None


def version_by_release(engine: Engine, release: str) -> dict[str, Any] | None:
    """The newest row recording ``release`` (a rollback stores the same files again)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(*SUMMARY, t.c.files).where(t.c.release == release)
                           .order_by(t.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def list_versions(engine: Engine) -> list[dict[str, Any]]:
    """Every version, newest first, without their files."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(*SUMMARY).order_by(t.c.id.desc())).mappings()]


def store_version(engine: Engine, clock: Clock, *, files: dict[str, str], digest: str,
                  release: str, deployed_by: str, note: str | None = None) -> dict[str, Any]:
    """Store a new newest version; raises CatalogVersionTaken when another process stored
    one at the same moment (the caller reads the newest again and decides)."""
    now = clock.now()
    try:
        with engine.begin() as conn:
            top = conn.execute(sa.select(sa.func.max(t.c.id))).scalar_one_or_none() or 0
            row = {"id": top + 1, "release": release, "digest": digest, "files": files,
                   "deployed_by": deployed_by, "deployed_at": now, "note": note}
            conn.execute(t.insert().values(**row))
    except IntegrityError as exc:
        raise CatalogVersionTaken(str(exc)) from exc
    return row
