"""Workload W (issue 11): N orders, each a plan of six trivial steps (A and B free; C after B;
D after C; E after A and D; F after E), all submitted first, then the workers started.

1. A fresh database; `ordertower serve --workers 0` (the API only) with the catalog
   benchmarks/catalogs/workload-w takes the N orders through `POST productOrder` (8 clients),
   then stops. Each order is planned at once: 6 milestones and the `assetize` auto item
   ordertower adds to every plan, 7 plan items.
2. K `ordertower worker` processes start (1 on SQLite, 2 on PostgreSQL by default).
3. The clock runs from the first `worker started` log line to the last `finished_at` of a
   plan item (read after a poll of the database, every 0.1 s, saw every item done).

Figure: plan items per second (7 per order), beside the database's own single-row commit
rate sampled right before the run. Goals: SQLite (1 worker) >= 0.1 x raw sqlite3;
PostgreSQL (2 workers) >= 1.0 x pgbench.
"""

from __future__ import annotations

import time
from typing import Any

from baselines import baseline_label, database_baseline
from order_bodies import w_order
from support import (W_CATALOG, Context, Reader, Row, Serve, TempDatabase, Worker, fmt_rate, rate,
                     say, stop_all, submit_all, wait_for)

GOALS = {"sqlite": 0.1, "postgresql": 1.0}


def run_w(ctx: Context, kind: str, orders: int, workers: int, label: str) -> dict[str, Any]:
    """One run of W on a fresh database; its figures."""
    folder = ctx.folder / label
    folder.mkdir(parents=True, exist_ok=True)
    time_limit = ctx.options.w_time_limit
    with TempDatabase(kind, folder, tag="w") as db:
        say(f"{label}: submitting {orders} W orders through the API (workers off)")
        serve = Serve(folder, db.url, catalog=W_CATALOG, workers=0)
        try:
            serve.wait_ready()
            started = time.perf_counter()
            submit_all(serve.url, [w_order(i, tag=label) for i in range(orders)])
            submitted_in = time.perf_counter() - started
        finally:
            serve.stop()
        reader = Reader(db.url)
        procs: list[Worker] = []
        try:
            done, total = reader.items_done_of()
            if total != 7 * orders or done:
                raise RuntimeError(f"expected {7 * orders} plan items, none done; found {total}, {done} done")
            say(f"{label}: starting {workers} worker process(es); {total} plan items to run")
            spawned = time.time()
            procs = [Worker(folder, db.url, catalog=W_CATALOG, name=f"worker{j}") for j in range(workers)]
            wait_for(lambda: reader.orders_final() >= orders, time_limit,
                     f"{orders} W orders to finish", poll=0.1, procs=procs)
            wait_for(lambda: reader.items_done_of()[0] >= total, 30,
                     f"{total} W plan items to complete", poll=0.1, procs=procs)
            seen_done = time.time()
            starts = [t for t in (p.started_at() for p in procs) if t]
            t0 = min(starts) if starts else spawned
            end = reader.last_finished()
            if end is None or not (t0 < end <= seen_done + 1):
                end = seen_done
            elapsed = end - t0
            return {"items": total, "seconds": elapsed, "rate": rate(total, elapsed),
                    "submitted_in": submitted_in, "startup": t0 - spawned}
        finally:
            stop_all(procs)
            reader.close()


def w_rate(ctx: Context, kind: str, orders: int, workers: int, label: str) -> dict[str, Any]:
    """Run W and remember its rate (the scaling benchmark reuses the same configuration)."""
    result = run_w(ctx, kind, orders, workers, label)
    ctx.w_runs.setdefault((kind, workers, orders), []).append(result["rate"])
    say(f"{label}: {result['items']} items in {result['seconds']:.2f} s = {result['rate']:.1f} items/s "
        f"(worker start-up {result['startup']:.1f} s not counted; submission took {result['submitted_in']:.1f} s)")
    return result


def run(ctx: Context) -> list[Row]:
    rows = []
    opts = ctx.options
    orders = opts.w_orders or (10 if ctx.quick else 500)
    for kind in ctx.databases:
        workers = opts.w_workers_sqlite if kind == "sqlite" else opts.w_workers_postgresql
        for rep in range(1, opts.w_repeat + 1):
            base = database_baseline(ctx, kind)  # sampled right before the run it bounds
            label = f"w-{kind}-{workers}w-run{rep}"
            r = w_rate(ctx, kind, orders, workers, label)
            ratio = r["rate"] / base
            goal = GOALS[kind]
            name = f"W {kind} ({workers} worker{'s' if workers > 1 else ''}, N={orders})"
            if opts.w_repeat > 1:
                name += f" run {rep}"
            rows.append(Row(name, f"{fmt_rate(r['rate'], ' items/s')} ({r['items']:,} in {r['seconds']:.1f} s)",
                            baseline_label(ctx, kind, base), ratio, f">= {goal:g}x", ratio >= goal))
    return rows
