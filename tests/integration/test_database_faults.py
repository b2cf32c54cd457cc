"""The database failing under a running server: a SQLite file that becomes read-only, a
PostgreSQL server that goes down. The server says it is not ready (503, a problem saying
why), answers requests that need the database with 503 problems and ``Retry-After``, never
500, corrupts nothing, and recovers on its own when the database is back, without a restart.

Tests run as root here, and root ignores file permissions: the SQLite file is made read-only
with ``chattr +i`` (the immutable attribute, which binds root too, also for files it already
holds open), as a read-only mount or a ``chmod`` would for an ordinary user."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from ..support.live import ORDERS, SEED_ORDER, start_server
from ..support.waiting import wait_until


def _chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


def _problem(resp) -> dict:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return resp.json()


def _is_unavailable(resp) -> bool:
    """503 with Retry-After, in the error shape of the route's API (TMF Error or problem)."""
    if resp.status_code != 503 or not resp.headers.get("Retry-After", "").isdigit():
        return False
    if "/tmf-api/" in str(resp.request.url):
        body = resp.json()
        return body["@type"] == "Error" and body["code"] == "database-unavailable" and body["status"] == "503"
    return _problem(resp)["type"].endswith("/database-unavailable")


@pytest.mark.timeout(120)
def test_a_sqlite_file_made_read_only_under_a_running_server(tmp_path):
    assert shutil.which("chattr"), "chattr (e2fsprogs) is needed to make a file read-only for root"
    db = tmp_path / "ordertower.db"
    server = start_server(f"sqlite:///{db}")
    files = [db, db.with_name("ordertower.db-wal")]
    try:
        before = server.post_order()
        assert before.status_code == 201
        server.wait_for(before.json()["id"])
        assert server.client.get("/health/ready").status_code == 200

        _chattr("+i", *files)
        try:
            ready = server.client.get("/health/ready")
            health = server.client.get("/health")
            placed = server.post_order()
            cancelled = server.client.post(f"/api/v1/orders/{before.json()['id']}/cancel",
                                           json={"reason": "test"})
        finally:
            _chattr("-i", *files)

        assert ready.status_code == 503, ready.text
        assert "read-only" in _problem(ready)["detail"]
        assert ready.json()["database"].startswith("read-only")
        assert health.status_code == 503
        assert _is_unavailable(placed), (placed.status_code, placed.text)
        assert "read-only" in placed.json()["message"]  # a TMF route: a TMF Error
        assert cancelled.status_code in (409, 503), cancelled.text  # refused either way, never 500

        # writable again: ready and taking orders, without a restart
        wait_until(lambda: server.client.get("/health/ready").status_code == 200, 30, "ready again")
        after = server.post_order()
        assert after.status_code == 201, after.text
        assert server.wait_for(after.json()["id"])["state"] == "completed"
        listed = server.client.get(ORDERS, params={"fields": "state"})
        assert listed.headers["X-Total-Count"] == "2"  # the refused order left nothing behind
    finally:
        _chattr("-i", *files)
        server.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2,)


@pytest.mark.timeout(120)
def test_postgresql_down_under_a_running_server(throwaway_pg):
    cluster, url = throwaway_pg
    server = start_server(url)
    try:
        first = server.post_order()
        assert first.status_code == 201
        order_id = first.json()["id"]
        server.wait_for(order_id)

        cluster.stop()
        try:
            ready = server.client.get("/health/ready")
            read = server.client.get(f"{ORDERS}/{order_id}")
            listed = server.client.get(ORDERS)
            placed = server.post_order()
            plan = server.client.get(f"/api/v1/orders/{order_id}/plan")
        finally:
            cluster.start()

        assert ready.status_code == 503
        assert "database" in _problem(ready)["detail"]
        for resp in (read, listed, placed, plan):
            assert _is_unavailable(resp), (resp.request.url, resp.status_code, resp.text)

        wait_until(lambda: server.client.get("/health/ready").status_code == 200, 30, "ready again")
        # the first request after the restart may find a pooled connection dead: 503, then fine
        placed = wait_until(lambda: (r := server.post_order()).status_code == 201 and r, 30,
                            "an order to be accepted")
        assert server.wait_for(placed.json()["id"])["state"] == "completed"
        assert server.order(order_id)["state"] == "completed"
    finally:
        server.stop()
