"""``ordertower db backup PATH``: a SQLite store copied while its server runs and writes, then
served from the copy with every order in it; PostgreSQL is refused with the pg_dump recipe."""

from __future__ import annotations

import sqlite3
import threading

from typer.testing import CliRunner

from ordertower.entrypoints.cli import app
from tests.support.live import ORDERS, SEED_ORDER, start_server

runner = CliRunner()


def test_a_running_sqlite_store_is_backed_up_and_served_from_the_copy(tmp_path):
    url = f"sqlite:///{tmp_path}/live.db"
    server = start_server(url)
    copy = tmp_path / "copy.db"
    try:
        before = [server.post_order().json()["id"] for _ in range(5)]
        plan_sizes = {order_id: len(server.plan(order_id)["items"]) for order_id in before}
        stop = threading.Event()
        during: list[str] = []

        def keep_writing() -> None:
            while not stop.is_set():
                during.append(server.post_order().json()["id"])

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            result = runner.invoke(app, ["db", "backup", str(copy), "--database", url])
        finally:
            stop.set()
            writer.join()
    finally:
        server.stop()

    assert result.exit_code == 0, result.output
    assert f"sqlite:///{copy}" in result.output
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored = start_server(f"sqlite:///{copy}", start_workers=False)
    try:
        listed = restored.client.get(ORDERS, params={"limit": 1000})
        ids = {o["id"] for o in listed.json()}
        for order_id in before:
            assert restored.order(order_id)["id"] == order_id
            assert len(restored.plan(order_id)["items"]) == plan_sizes[order_id]
    finally:
        restored.stop()
    assert set(before) <= ids
    assert ids <= set(before) | set(during), "only orders that were placed"


def test_backing_up_to_an_existing_file_is_refused_and_leaves_it_alone(tmp_path):
    url = f"sqlite:///{tmp_path}/live.db"
    start_server(url, start_workers=False).stop()
    existing = tmp_path / "keep.db"
    existing.write_text("precious")

    result = runner.invoke(app, ["db", "backup", str(existing), "--database", url])

    assert result.exit_code == 1
    assert "exists" in result.output
    assert existing.read_text() == "precious"


def test_a_postgresql_store_is_refused_with_the_pg_dump_recipe(tmp_path):
    result = runner.invoke(app, ["db", "backup", str(tmp_path / "x.db"),
                                 "--database", "postgresql://postgres@127.0.0.1:5432/anything"])

    assert result.exit_code == 1
    assert "pg_dump" in result.output and "docs/operations.md" in result.output
    assert not (tmp_path / "x.db").exists()
