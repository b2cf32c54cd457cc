"""Backups of the embedded store: SQLite's online backup API, which copies a consistent
snapshot while other connections (a running server, workers) keep writing. PostgreSQL is
backed up with its own tools (``pg_dump``; docs/operations.md#backups)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupRefused(Exception):
    """This store is not backed up by ordertower (PostgreSQL), or the target is wrong."""


def backup_sqlite(database_url: str, target: Path, pages_per_step: int = 1024) -> int:
    """Copy the SQLite database at ``database_url`` to ``target`` (a new file); returns its
    size in bytes. Refuses PostgreSQL and an existing target."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupRefused(
            f"'ordertower db backup' copies SQLite stores; this is {url.get_backend_name()}. "
            "Back up PostgreSQL with pg_dump (the recipe is in docs/operations.md, 'Backups').")
    source = url.database
    if not source or source == ":memory:" or not Path(source).exists():
        raise BackupRefused(f"no SQLite database at {source!r}")
    target = Path(target)
    if target.exists():
        raise BackupRefused(f"{target} exists; back up to a new file")
    if not target.parent.is_dir():
        raise BackupRefused(f"no folder {target.parent}")
    src = sqlite3.connect(source, timeout=30)  # only read: the backup API takes read locks
    dst = sqlite3.connect(str(target))
    try:
        src.execute("PRAGMA busy_timeout = 30000")
        src.backup(dst, pages=pages_per_step)
        dst.execute("PRAGMA journal_mode = WAL")
    except Exception:
        dst.close()
        target.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    return target.stat().st_size
