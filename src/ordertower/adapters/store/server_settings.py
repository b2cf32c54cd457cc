"""Facts one process records in the database for the others (table ``server_settings``).

``serve`` records its public URL there, so that workers on other machines know where the
simulators are and which callback base URL to hand to fulfillment systems, without guessing.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from ...domain.clock import Clock
from .tables import server_settings

PUBLIC_URL = "public_url"


def record_setting(engine: Engine, clock: Clock, name: str, value: str) -> None:
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(server_settings).values(name=name, value=value, updated_at=clock.now())
    stmt = stmt.on_conflict_do_update(index_elements=[server_settings.c.name],
                                      set_={"value": stmt.excluded.value,
                                            "updated_at": stmt.excluded.updated_at})
    with engine.begin() as conn:
        conn.execute(stmt)


def read_setting(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(server_settings.c.value)
                            .where(server_settings.c.name == name)).scalar_one_or_none()
