"""The cost of looking a bearer key up on every request (so that a revocation is seen by the
next request on every node), against the same requests with access control off, in one run.

    uv run python benchmarks/key_lookup.py [--database sqlite|postgresql] [--requests 500]

Each request is ``GET /api/v1/systems`` on two live servers in this process, one with access
control and one without, called in turn (real HTTP, keep-alive connections, no workers). Prints the median and 95th percentile of each and the
difference: the key lookup (a SHA-256 and one indexed SELECT in a thread). Read it with the
machine's load (printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from ordertower.adapters.store.database import normalise_url  # noqa: E402
from tests.support.live import start_server  # noqa: E402

PG_ADMIN = os.environ.get("ORDERTOWER_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")

KEY = "benchmark-admin-key"


def timed(server) -> float:
    started = time.perf_counter()
    server.client.get("/api/v1/systems").raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    print(f"load averages: {os.getloadavg()}; database: {args.database}")
    if args.database == "sqlite":
        run(f"sqlite:///{tempfile.mkdtemp()}/bench.db", args.requests)
        return
    admin = sa.create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    name = f"ordertower_keybench_{os.getpid()}"  # a throw-away database, dropped at the end
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        run(PG_ADMIN.rsplit("/", 1)[0] + "/" + name, args.requests)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def run(url: str, requests: int) -> None:
    servers = {"no auth": start_server(url, start_workers=False, auth=False),
               "key looked up": start_server(url, start_workers=False, auth=True, bootstrap_key=KEY)}
    results: dict[str, list[float]] = {label: [] for label in servers}
    try:  # interleaved, one request each in turn, so that the machine's load hits both alike
        for n in range(requests + 20):
            for label, server in servers.items():
                ms = timed(server)
                if n >= 20:  # warm-up
                    results[label].append(ms)
    finally:
        for server in servers.values():
            server.stop()
    for label, ms in results.items():
        q = statistics.quantiles(ms, n=20)
        print(f"{label:>14}: median {statistics.median(ms):.2f} ms, p95 {q[18]:.2f} ms")
    extra = statistics.median(results["key looked up"]) - statistics.median(results["no auth"])
    print(f"cost of the lookup: {extra:+.2f} ms per request (median)")


if __name__ == "__main__":
    main()
