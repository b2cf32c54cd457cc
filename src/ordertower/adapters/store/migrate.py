"""The schema: Alembic migrations, applied by ``ordertower db upgrade`` or at start-up.

Any number of processes may start at once on a fresh database: on PostgreSQL the upgrade
runs under a transaction-scoped advisory lock, so one process migrates while the others
wait, then find the schema at head and do nothing. On SQLite the migration's transaction is
opened with ``BEGIN IMMEDIATE``, which serialises it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key: the bytes of "ordertwr" as a signed 64-bit integer
ADVISORY_LOCK_KEY = int.from_bytes(b"ordertwr", "big", signed=True)


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # None: no ordertower schema at all
    head: str

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.at_head:
            return f"schema at head ({self.head})"
        if self.current is None:
            return f"the database has no ordertower schema (head is {self.head})"
        return f"schema at {self.current}, this ordertower needs {self.head}"


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False)
                            .replace("%", "%%"))
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        return SchemaStatus(_current(conn), head_revision())


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; returns (revision before, revision after). Safe to call
    from many processes at once."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        before = _current(conn)
        if before != head_revision():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return before, head_revision()
