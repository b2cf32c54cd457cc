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
