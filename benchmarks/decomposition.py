"""Benchmark: decomposing, planning and accepting a 10,000-item order.

    uv run python benchmarks/decomposition.py [--items 10000] [--baseline 1000]
                                              [--database URL] [--skip-api]

1. In memory: a mixed order of the reference catalog (phones, mobile plans, broadband with
   and without a technician, electricity and gas with smart and standard meters) is
   validated, decomposed and planned; time and peak memory (tracemalloc) are printed, with
   the ratio to a smaller order (``--baseline``) measured in the same run.
2. Through the API: a server in its own process (API, simulators, one worker; SQLite in a
   temporary folder, or ``--database``) takes the same orders by ``POST productOrder``; the
   time to its ``201`` and the time until the whole plan is stored (the ``plan-order`` item
   done) are printed. Every fulfillment system is marked offline first, so the stored plan
   waits instead of running.

Goals (DESIGN, issue 3), on a 2-core machine: decomposition and plan under 2 s and 500 MB;
the API answers 201 in under 1 s; the plan is stored in under 10 s.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import resource
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ordertower.adapters.catalog_files import load_catalog  # noqa: E402
from ordertower.domain.inventory import InstalledBase  # noqa: E402
from ordertower.domain.orders import ItemInput, validate_items, with_asset_ids  # noqa: E402
from ordertower.engine.plan_order import plan_items  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from order_bodies import order_body  # noqa: E402  (shared with the engine benchmarks)

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
SYSTEMS = ("warehouse", "network", "billing", "field-service", "market")


def item_inputs(body: dict[str, Any]) -> list[ItemInput]:
    return [ItemInput(i["id"], i["action"], i["productOffering"]["id"],
                      tuple((c["name"], c["value"]) for c in i["product"]["productCharacteristic"]))
            for i in body["productOrderItem"]]


def best_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def in_memory(n: int, runs: int) -> dict[str, Any]:
    catalog = load_catalog().catalog
    inputs = item_inputs(order_body(n))
    base = InstalledBase.empty(f"bench-{n}")
    ids = itertools.count()
    t_validate, items = best_of(runs, lambda: with_asset_ids(validate_items(inputs, catalog, base),
                                                             lambda: f"asset-{next(ids)}"))
    t_plan, (lines, plan) = best_of(runs, lambda: plan_items(items, catalog, base.customer_id, base, "O"))
    del lines, plan
    gc.collect()
    tracemalloc.start()
    lines, plan = plan_items(items, catalog, base.customer_id, base, "O")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"items": n, "validate": t_validate, "decompose+plan": t_plan, "lines": len(lines),
            "plan items": len(plan.items), "peak MB": peak / 2**20}


# --- through the API ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(database_url: str, port: int) -> None:
    """The server process: API, simulators and one in-process worker, as `ordertower serve`."""
    import logging

    import structlog
    import uvicorn

    from ordertower.bootstrap import bootstrap
    from ordertower.config import Settings
    from ordertower.entrypoints.api.app import create_app

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = Settings(database_url=database_url, port=port, workers=1, auth=False, bootstrap_key=None)
    # a 10,000-item order is about 2 MiB of JSON: at the default limit (see the README)
    settings.max_body_bytes = 16 * 2**20
    uvicorn.run(create_app(bootstrap(settings)), host="127.0.0.1", port=port, log_level="warning")


class Server:
    """A server in its own process (a client shares no interpreter with it)."""

    def __init__(self, database_url: str):
        import multiprocessing

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(database_url, self.port), daemon=True)

    def __enter__(self) -> "Server":
        import httpx

        from ordertower.adapters.store.database import create_db_engine

        self.process.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not self.process.is_alive():
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        self.engine = create_db_engine(self.database_url)
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.join(timeout=30)
        self.engine.dispose()

    def planned(self, order_id: str) -> tuple[bool, int]:
        """Whether the order's plan is stored, and how many plan items it has."""
        import sqlalchemy as sa

        from ordertower.adapters.store.tables import plan_items as table

        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.key, table.c.state).where(
                table.c.order_id == order_id, table.c.key == "plan-order")).all()
            count = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.order_id == order_id)).scalar_one()
        return (not rows or rows[0].state == "completed"), count


def through_api(sizes: list[int], database_url: str | None) -> list[dict[str, Any]]:
    import httpx

    results = []
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{folder}/bench.db"
        with Server(url) as server, httpx.Client(base_url=server.url, timeout=120) as client:
            for system in SYSTEMS:  # the stored plan waits: only its storing is measured
                client.put(f"/api/v1/systems/{system}", json={"offline": True}).raise_for_status()
            for n in sizes:
                raw = json.dumps(order_body(n), separators=(",", ":")).encode()
                started = time.perf_counter()
                resp = client.post(ORDERS, content=raw, headers={"content-type": "application/json"})
                answered = time.perf_counter() - started
                if resp.status_code != 201:
                    raise SystemExit(f"POST of {n} items answered {resp.status_code}: {resp.text[:500]}")
                order_id, state = resp.json()["id"], resp.json()["state"]
                while True:
                    done, count = server.planned(order_id)
                    if done:
                        break
                    time.sleep(0.05)
                stored = time.perf_counter() - started
                results.append({"items": n, "body MB": len(raw) / 2**20, "201": answered,
                                "state": state, "plan stored": stored, "plan items": count,
                                "database": url.split(":")[0]})
    return results


# --- report -------------------------------------------------------------------------------------

def ratio(a: float, b: float) -> str:
    return f"{a / b:5.1f}x" if b else "  -  "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3, help="best of this many in-memory runs")
    parser.add_argument("--database", help="database URL for the API part (default: SQLite in a "
                                           "temporary folder)")
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()
    n, b = args.items, args.baseline

    print(f"ordertower decomposition benchmark - {n:,} items (baseline {b:,} items, same run)")
    base, full = in_memory(b, args.runs), in_memory(n, max(1, args.runs - 1))
    print("\nin memory: validate, decompose and plan (reference catalog, mixed products)")
    print(f"  {'':28}{b:>10,} items{n:>12,} items   ratio (size ratio {n / b:.0f}x)")
    for key in ("validate", "decompose+plan"):
        print(f"  {key + ' (s)':28}{base[key]:>16.3f}{full[key]:>18.3f}   {ratio(full[key], base[key])}")
    for key in ("lines", "plan items"):
        print(f"  {key:28}{base[key]:>16,}{full[key]:>18,}   {ratio(full[key], base[key])}")
    print(f"  {'peak memory (MB, traced)':28}{base['peak MB']:>16.1f}{full['peak MB']:>18.1f}   "
          f"{ratio(full['peak MB'], base['peak MB'])}")
    total = full["validate"] + full["decompose+plan"]
    print(f"  goal: decomposition and plan under 2 s and 500 MB -> {total:.2f} s, "
          f"{full['peak MB']:.0f} MB: {'met' if total < 2 and full['peak MB'] < 500 else 'NOT met'}")

    if not args.skip_api:
        api = through_api([b, n], args.database)
        print(f"\nthrough the API (POST productOrder, {api[0]['database']}; plan stored by a worker)")
        print(f"  {'':28}{b:>10,} items{n:>12,} items   ratio")
        print(f"  {'body (MB)':28}{api[0]['body MB']:>16.2f}{api[1]['body MB']:>18.2f}")
        for key in ("201", "plan stored"):
            print(f"  {key + ' after (s)':28}{api[0][key]:>16.3f}{api[1][key]:>18.3f}   "
                  f"{ratio(api[1][key], api[0][key])}")
        print(f"  {'plan items stored':28}{api[0]['plan items']:>16,}{api[1]['plan items']:>18,}")
        print(f"  state in the 201: {api[1]['state']}")
        met = api[1]["201"] < 1 and api[1]["plan stored"] < 10
        print(f"  goal: 201 under 1 s, plan stored under 10 s -> {api[1]['201']:.2f} s, "
              f"{api[1]['plan stored']:.2f} s: {'met' if met else 'NOT met'}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of the benchmark process (in-memory part): {rss:.0f} MB")


if __name__ == "__main__":
    main()
