"""The store records an asset change by the domain's rule (``inventory.installed_base_changes``),
on SQLite and PostgreSQL: it ends where the in-memory model ends, recording the same change
twice changes nothing, and two bundles recording one shared item at once both use it."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.inventory import InventoryRepository
from ordertower.adapters.store.migrate import upgrade
from ordertower.adapters.store.tables import assets, inventory_items, orders
from ordertower.domain.inventory import InstalledBase

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)
ACCOUNT = "account:c/billing-account"
_ids = itertools.count(1)


def change(action: str, asset_id: str, *uses: tuple[str, str, str], **attributes) -> dict:
    """``uses``: (key, keep|leave, line action)."""
    return {"asset_id": asset_id, "order_item_id": "1", "offering_id": "mobile-plan", "action": action,
            "attributes": attributes, "lines": [f"{asset_id}/line"], "billing_account_id": None,
            "root_asset_id": None,
            "inventory": [{"key": key, "technical_product": key.rsplit("/", 1)[-1], "attributes": {"k": key},
                           "use": use, "action": line_action, "line_id": f"{asset_id}:{key}"}
                          for key, use, line_action in uses]}


STORY = [  # (order, change)
    ("O1", change("add", "a1", ("a1/mobile-line", "keep", "add"), (ACCOUNT, "keep", "add"), tier="basic")),
    ("O2", change("add", "a2", (ACCOUNT, "keep", "noChange"), tier="basic")),
    ("O2", change("modify", "a1", ("a1/mobile-line", "keep", "modify"), tier="unlimited")),
    ("O3", change("delete", "a1", (ACCOUNT, "leave", "noChange"))),
]


def _engine(url: str) -> sa.Engine:
    engine = create_db_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        for order_id in ("O1", "O2", "O3"):
            conn.execute(orders.insert().values(
                id=order_id, state="inProgress", customer_id="c", catalog_version="v", revision=1,
                order_date="2025-01-01", body={}, items=[], created_at=NOW, updated_at=NOW))
    return engine


@pytest.fixture
def db(database_url):
    engine = _engine(database_url)
    yield engine
    engine.dispose()


def record(engine: sa.Engine, order_id: str, chg: dict, repository=InventoryRepository) -> list:
    with engine.begin() as conn:
        [(events, _written)] = repository(conn).record_changes([({"id": order_id, "customer_id": "c"}, chg)],
                                                               NOW, lambda: f"id-{next(_ids)}")
        return events


def rows(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        return [conn.execute(sa.select(t).order_by(t.c.id)).all() for t in (assets, inventory_items)]


def test_the_store_ends_where_the_in_memory_model_ends(db):
    memory = InstalledBase.empty("c")
    for order_id, chg in STORY:
        record(db, order_id, chg)
        memory = memory.apply([chg], order_id=order_id)

    with db.connect() as conn:
        stored = InventoryRepository(conn).snapshot("c")
    assert {a.id: (a.status, a.attributes) for a in stored.assets.values()} == \
        {a.id: (a.status, a.attributes) for a in memory.assets.values()}
    assert {i.key: i.assets for i in stored.items.values()} == \
        {i.key: i.assets for i in memory.items.values()} == {ACCOUNT: ("a2",)}


def test_recording_the_same_change_twice_changes_nothing(db):
    for order_id, chg in STORY:
        first = record(db, order_id, chg)
        before = rows(db)

        assert first  # every step of the story announces something
        assert record(db, order_id, chg) == []
        assert rows(db) == before


@pytest.mark.timeout(60)
def test_two_bundles_recording_one_shared_item_at_once_both_use_it(pg_database_url):
    from ..conftest import _truncate

    _truncate(pg_database_url)
    engine = _engine(pg_database_url)
    recorded, conflicts = threading.Event(), []

    class Watched(InventoryRepository):
        def _insert_items(self, inserts, now):
            inserted = super()._insert_items(inserts, now)
            conflicts.extend([] if inserted else list(inserts))
            return inserted

    def first() -> None:  # records the account item and commits only once the second waits on it
        with engine.begin() as conn:
            InventoryRepository(conn).record_changes([({"id": "O1", "customer_id": "c"},
                                                       change("add", "a1", (ACCOUNT, "keep", "add")))],
                                                     NOW, lambda: "id-first")
            recorded.set()
            threading.Event().wait(0.5)

    thread = threading.Thread(target=first)
    thread.start()
    recorded.wait(10)
    record(engine, "O2", change("add", "a2", (ACCOUNT, "keep", "add")), Watched)
    thread.join(10)

    with engine.connect() as conn:
        account = conn.execute(sa.select(inventory_items).where(inventory_items.c.key == ACCOUNT)).one()
    engine.dispose()
    assert conflicts == [ACCOUNT]  # the second read no row, lost the insert, read again
    assert (account.assets, account.status) == (["a1", "a2"], "active")
