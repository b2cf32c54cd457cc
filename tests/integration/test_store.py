"""The store: migrations match the tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ordertower.adapters.store.database import create_db_engine, normalise_url
from ordertower.adapters.store.migrate import upgrade
from ordertower.adapters.store.tables import metadata


def test_migrations_build_exactly_the_declared_tables(database_url):
    engine = create_db_engine(database_url)
    upgrade(engine)  # idempotent: already at head for PostgreSQL
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_plain_database_urls_map_to_the_drivers_ordertower_uses():
    assert normalise_url("sqlite:///a.db") == "sqlite+pysqlite:///a.db"
    assert normalise_url("postgresql://u@h:5432/n") == "postgresql+psycopg://u@h:5432/n"
    assert normalise_url("postgres://u@h/n") == "postgresql+psycopg://u@h/n"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url):
    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
    engine.dispose()


def test_the_open_items_index_holds_exactly_the_items_not_in_a_final_state(database_url):
    """The partial index settling and the jeopardy sweep read (migration 0018): its condition,
    as the database keeps it, names the final item states of the domain, and only them; on
    PostgreSQL without deduplication (docs/decisions.md, "Settling an order without counting
    its items")."""
    from ordertower.domain.lifecycle import FINAL_ITEM_STATES, ItemState

    engine = create_db_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_plan_items_open'").scalar_one()
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_plan_items_open'").scalar_one()
    engine.dispose()
    condition = definition.split("WHERE", 1)[1]
    assert {s for s in ItemState if f"'{s.value}'" in condition} == set(FINAL_ITEM_STATES)
    assert "NOT IN" in condition.upper() or "<> ALL" in condition
    if database_url.startswith("postgresql"):
        assert "deduplicate_items='off'" in definition.replace(" ", "") or \
            "deduplicate_items=off" in definition.replace(" ", "")


def test_rows_inserted_in_a_set_read_back_as_rows_inserted_one_by_one(database_url):
    """statements.insert_rows (PostgreSQL: the rows as one JSON document, json_to_recordset)
    stores what SQLAlchemy's own INSERT stores: text with quotes, backslashes and non-ASCII
    characters, nested JSON, JSON null, datetimes given in UTC, in another zone or naive
    (taken as UTC), and the table's defaults for the columns not given."""
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    from ordertower.adapters.store.statements import insert_rows
    from ordertower.adapters.store.tables import events

    utc = datetime(2026, 12, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    moments = [utc, utc.astimezone(timezone(timedelta(hours=-5))), utc.replace(tzinfo=None)]
    payloads = [{"text": 'a "quoted" \\ back\\slash, tab\t and line\nbreak', "name": "Zoë ☎ 電話"},
                {"nested": {"list": [1, 2.5, None, True, {"deep": []}]}, "empty": {}},
                None]

    def rows(tag: str) -> list[dict]:
        return [{"event_id": f"{tag}-{n}", "type": "TestEvent", "order_id": f"order-{n}",
                 "item_id": None if n else "item-0", "payload": payload, "occurred_at": moment,
                 "actor": f"actor \"{n}\""} for n, (payload, moment) in enumerate(zip(payloads, moments))]

    engine = create_db_engine(database_url)
    upgrade(engine)
    try:
        with engine.begin() as conn:
            insert_rows(conn, events, rows("set"))
            conn.execute(events.insert(), rows("one"))
            stored = {r["event_id"]: r for r in conn.execute(
                sa.select(events).where(events.c.type == "TestEvent")).mappings()}
            conn.execute(events.delete().where(events.c.type == "TestEvent"))
    finally:
        engine.dispose()

    as_set = [{k: v for k, v in stored[f"set-{n}"].items() if k not in ("id", "event_id")} for n in range(3)]
    one_by_one = [{k: v for k, v in stored[f"one-{n}"].items() if k not in ("id", "event_id")} for n in range(3)]
    assert as_set == one_by_one
    assert [r["payload"] for r in as_set] == payloads
    assert {r["occurred_at"] for r in as_set} == {utc} and as_set[0]["published_at"] is None
