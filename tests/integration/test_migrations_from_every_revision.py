"""Upgrading keeps the data: for each earlier revision (0001 .. the one before head), a database
created at that revision (Alembic) with representative rows in it is upgraded to head, and
every row is still there with the same values and readable through the API. On SQLite and
PostgreSQL.

The representative rows are those a real session leaves (orders placed, fulfilled and
assetized, attempts, events, a key, a hub, an idempotent request), recorded once at head and
written into each older schema with the columns that revision has."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.migrate import alembic_config, head_revision, upgrade
from ordertower.adapters.store.tables import metadata
from ordertower.services.access import create_key
from tests.conftest import empty_pg_database
from tests.support.live import ORDERS, ROOT, SEED_ORDER, start_server

EARLIER = [r.revision for r in reversed(list(
    ScriptDirectory.from_config(alembic_config()).walk_revisions())) if r.revision != head_revision()]
Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def session_rows(tmp_path_factory) -> Rows:
    """Every row of a small real session, table by table."""
    url = f"sqlite:///{tmp_path_factory.mktemp('golden')}/golden.db"
    server = start_server(url)
    try:
        seed = server.post_order(SEED_ORDER, headers={"Idempotency-Key": "golden-1"}).json()
        broadband = server.post_order(json.loads((ROOT / "examples" / "broadband.json").read_text())).json()
        for order in (seed, broadband):
            server.wait_for(order["id"], {"completed"})
        server.client.post("/tmf-api/productOrderingManagement/v4/hub",
                           json={"callback": "http://127.0.0.1:9/listener"}).raise_for_status()
        create_key(server.container.store, {"name": "golden", "role": "operator"}, "test")
        with server.container.store.read() as uow:
            rows = {t.name: [dict(r) for r in uow.conn.execute(sa.select(t)).mappings()]
                    for t in metadata.sorted_tables}
    finally:
        server.stop()
    assert rows["orders"] and rows["plan_items"] and rows["events"] and rows["assets"]
    return rows


@pytest.fixture
def fresh_url(request, tmp_path, database_url):
    """An empty database (no schema) of the kind ``database_url`` is."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/old.db"
        return
    with empty_pg_database("ordertower_migr") as url:
        yield url


def columns_at(engine: sa.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


def write_at_revision(engine: sa.Engine, rows: Rows) -> Rows:
    """Insert the rows with the columns each table has at this revision; returns what was
    written."""
    present = columns_at(engine)
    written: Rows = {}
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name not in present or not rows[table.name]:
                continue
            cols = present[table.name]
            projected = [{k: v for k, v in r.items() if k in cols} for r in rows[table.name]]
            conn.execute(table.insert(), projected)
            written[table.name] = projected
    return written


@pytest.mark.parametrize("revision", EARLIER)
def test_an_upgrade_from_an_earlier_revision_keeps_every_row_readable(revision, fresh_url,
                                                                       session_rows):
    engine = create_db_engine(fresh_url)
    try:
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        written = write_at_revision(engine, session_rows)
        assert {"orders", "plan_items", "events", "api_keys"} <= set(written)

        before, after = upgrade(engine)

        assert (before, after) == (revision, head_revision())
        with engine.connect() as conn:
            for name, rows in written.items():
                table = metadata.tables[name]
                stored = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
                assert len(stored) == len(rows), name
                for row in rows:
                    assert any(all(s[k] == v for k, v in row.items()) for s in stored), (name, row)
    finally:
        engine.dispose()

    server = start_server(fresh_url, start_workers=False)
    try:
        for order in session_rows["orders"]:
            got = server.client.get(f"{ORDERS}/{order['id']}")
            assert got.status_code == 200, got.text
            assert got.json()["state"] == order["state"]
            for what in ("plan", "history", "decomposition"):
                assert server.client.get(f"/api/v1/orders/{order['id']}/{what}").status_code == 200
        listed = server.client.get(ORDERS)
        assert listed.headers["X-Total-Count"] == str(len(session_rows["orders"]))
        assets = server.client.get("/tmf-api/productInventory/v4/product")
        assert assets.status_code == 200 and len(assets.json()) == len(session_rows["assets"])
        assert server.client.get("/api/v1/audit").status_code == 200
    finally:
        server.stop()
