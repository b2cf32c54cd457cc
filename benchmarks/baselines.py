"""Baselines measured in the same run as the figures they bound.

The database baselines are sampled right before each figure they bound (each W run).

- ``sqlite3``: one connection, a loop of single-row ``UPDATE`` + ``COMMIT`` on a WAL file with
  ``synchronous=NORMAL`` (what ordertower's SQLite store uses), for about 2 s.
- PostgreSQL: ``pgbench -n -c 1 -j 1 -T 5`` with the custom script
  ``UPDATE t SET v = v + 1 WHERE id = 1`` (one connection, one client thread; each statement
  is its own transaction: one commit each). Without ``pgbench`` the same loop runs on one
  psycopg connection in autocommit, and the row says so.
- HTTP round trips: one keep-alive connection of the client stack the callouts use (an
  ``httpx.Request`` handed to ``httpx_aiohttp.AiohttpTransport``, in an asyncio loop),
  sequential ``GET /simulators/warehouse?limit=0`` on an ordertower server (uvicorn,
  FastAPI): the rate a single caller gets from the same stack the callouts go through.
"""

from __future__ import annotations

import glob
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from support import TempDatabase, _pg_connect, say


def sqlite3_commits(folder: Path, seconds: float = 2.0) -> float:
    """Single-row UPDATE commits per second of raw sqlite3 (WAL, synchronous=NORMAL)."""
    path = folder / "baseline-sqlite3.db"
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 0)")
        conn.commit()
        for _ in range(200):  # warm-up
            conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            conn.commit()
        n, started = 0, time.perf_counter()
        deadline = started + seconds
        while True:
            for _ in range(100):
                conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
                conn.commit()
            n += 100
            now = time.perf_counter()
            if now >= deadline:
                break
        return n / (now - started)
    finally:
        conn.close()
        for p in glob.glob(f"{path}*"):
            Path(p).unlink(missing_ok=True)


def _find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def postgresql_commits(folder: Path, seconds: float = 5.0) -> tuple[float, str]:
    """Single-connection single-row UPDATE commits per second on PostgreSQL, and how it was
    measured (pgbench, or a psycopg loop when pgbench is not installed)."""
    with TempDatabase("postgresql", folder, tag="pgbench") as db:
        with _pg_connect(db.url) as conn:
            conn.execute("CREATE TABLE t (id integer PRIMARY KEY, v integer NOT NULL)")
            conn.execute("INSERT INTO t VALUES (1, 0)")
        pgbench = _find_pgbench()
        if pgbench:
            script = folder / "pgbench-update.sql"
            script.write_text("UPDATE t SET v = v + 1 WHERE id = 1;\n")
            u = urlparse(db.url)
            cmd = [pgbench, "-n", "-c", "1", "-j", "1", "-T", str(max(1, round(seconds))),
                   "-f", str(script), "-h", u.hostname or "127.0.0.1", "-p", str(u.port or 5432),
                   "-U", u.username or "postgres", db.name]
            env = None
            if u.password:
                import os

                env = os.environ | {"PGPASSWORD": u.password}
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env)
            m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out.stdout) or \
                re.search(r"tps = ([0-9.]+)", out.stdout)
            if out.returncode == 0 and m:
                return float(m.group(1)), "pgbench"
            say(f"pgbench failed ({out.returncode}): {out.stderr.strip()[:300]}; using psycopg")
            how = "psycopg loop (pgbench failed)"
        else:
            how = "psycopg loop (pgbench not installed: apt-get install postgresql-client)"
        with _pg_connect(db.url) as conn:
            for _ in range(100):
                conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            n, started = 0, time.perf_counter()
            deadline = started + seconds
            while True:
                for _ in range(50):
                    conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
                n += 50
                now = time.perf_counter()
                if now >= deadline:
                    break
        return n / (now - started), how


def http_round_trips(url: str, seconds: float = 3.0) -> float:
    """Sequential GETs per second of one keep-alive client against an ordertower server's
    simulators, through the client stack of a callout (adapters/callouts.py: httpx's request
    handed to aiohttp's transport; uvicorn and FastAPI on the server)."""
    import asyncio

    from httpx_aiohttp import AiohttpTransport

    async def run() -> float:
        transport = AiohttpTransport()
        target = f"{url}/simulators/warehouse?limit=0"

        async def get() -> None:
            resp = await transport.handle_async_request(httpx.Request("GET", target))
            await resp.aread()
            await resp.aclose()
            if resp.status_code != 200:
                raise RuntimeError(f"GET {target} answered {resp.status_code}")
        try:
            for _ in range(50):  # warm-up (and the connection)
                await get()
            n, started = 0, time.perf_counter()
            deadline = started + seconds
            while True:
                for _ in range(20):
                    await get()
                n += 20
                now = time.perf_counter()
                if now >= deadline:
                    return n / (now - started)
        finally:
            await transport.aclose()
    return asyncio.run(run())


def database_baseline(ctx, kind: str) -> float:
    """A fresh sample of the commit-rate baseline of ``kind``, taken right before the figure
    it bounds (the machine and its PostgreSQL are shared: the rate moves during a run). Every
    sample is kept for the baseline row of the table."""
    key = f"commits/{kind}"
    if kind == "sqlite":
        say("baseline: sqlite3 single-row UPDATE commits (WAL, synchronous=NORMAL)")
        value, how = sqlite3_commits(ctx.folder, 0.2 if ctx.quick else 2.0), "sqlite3"
    else:
        say("baseline: PostgreSQL single-connection single-row UPDATE commits")
        value, how = postgresql_commits(ctx.folder, 1.0 if ctx.quick else 5.0)
    ctx.baselines.setdefault(key, []).append(value)
    ctx.baseline_notes[key] = how
    return value


def baseline_label(ctx, kind: str, value: float) -> str:
    from support import fmt_rate

    return f"{fmt_rate(value, ' commits/s')} ({ctx.baseline_notes[f'commits/{kind}'].split(' ')[0]})"
