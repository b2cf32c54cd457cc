"""Latency-bound (issue 11): N seed orders against fulfillment systems that answer after
500 ms, each system limited to 200 callouts at once (a copy of the reference catalog with
every system's `concurrency` set to `--concurrency`).

1. A fresh database; `ordertower serve --workers 0` (API and simulators) with that catalog;
   every simulator gets `latency_ms`; the N orders are submitted (16 clients).
2. One `ordertower worker` process starts (default flags). The clock runs from its
   `worker started` log line to the last plan item finished.
3. Every 0.25 s the simulators are asked for their latest requests (`GET
   /simulators/{system}?limit=concurrency+50`); those without a status yet are in flight.
   All callouts come from the one worker process, so the peak of their sum is the peak number
   of callouts in flight in one process.

The ideal schedule: the seed order's plan (asked of the server: `POST /api/v1/catalog/explain`)
repeated N times, all orders present at time 0, every callout taking exactly the latency, auto
items taking no time, at most `concurrency` callouts per system at once; a greedy list
schedule that always starts the ready callouts with the longest remaining path (critical path
first). Its length is printed beside the lower bound max(critical path, for each system
ceil(its callouts / its limit) x latency); when they are equal the schedule is optimal.
Goals: done within 1.3 x the ideal schedule; >= 500 callouts in flight in one process.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import yaml

from order_bodies import seed_order
from support import (Context, Reader, Row, Serve, TempDatabase, Worker, fmt_rate,
                     reference_catalog, say, stop_all, submit_all, wait_for)

GOAL_RATIO = 1.3
GOAL_IN_FLIGHT = 500


def catalog_with_concurrency(folder: Path, concurrency: int) -> Path:
    """A copy of the reference catalog whose every system allows ``concurrency`` callouts."""
    target = folder / f"catalog-concurrency-{concurrency}"
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(reference_catalog().glob("*.y*ml")):
        doc = yaml.safe_load(f.read_text()) or {}
        if doc.get("systems"):
            for system in doc["systems"]:
                system["concurrency"] = concurrency
            (target / f.name).write_text(f"# the reference {f.name}, every concurrency set to {concurrency}\n"
                                         + yaml.safe_dump(doc, sort_keys=False))
        else:
            (target / f.name).write_bytes(f.read_bytes())
    return target


def ideal_schedule(plan: list[dict[str, Any]], orders: int, latency: float,
                   limits: dict[str, int]) -> tuple[float, float]:
    """(greedy critical-path-first schedule length, lower bound), in seconds."""
    keys = [p["key"] for p in plan]
    dur = {p["key"]: (latency if p["type"] == "callout" else 0.0) for p in plan}
    system = {p["key"]: p.get("system") for p in plan}
    deps = {p["key"]: [d for d in p["depends_on"] if d in dur] for p in plan}
    succ: dict[str, list[str]] = defaultdict(list)
    for k, ds in deps.items():
        for d in ds:
            succ[d].append(k)
    tail: dict[str, float] = {}

    def remaining(k: str) -> float:  # longest path from the start of k to the end
        if k not in tail:
            tail[k] = dur[k] + max((remaining(s) for s in succ[k]), default=0.0)
        return tail[k]

    critical = max(remaining(k) for k in keys if not deps[k])
    counts: dict[str, int] = defaultdict(int)
    for k in keys:
        if dur[k]:
            counts[system[k]] += orders
    bound = max([critical] + [math.ceil(c / limits[s]) * latency for s, c in counts.items()])

    pending = {(o, k): len(deps[k]) for o in range(orders) for k in keys}
    ready: dict[str, list] = defaultdict(list)  # system -> heap of (-remaining, order, key)
    left = len(pending)

    def release(o: int, k: str) -> None:
        nonlocal left
        stack = [(o, k)]
        while stack:
            o, k = stack.pop()
            if dur[k] == 0:  # done at once: release its successors
                left -= 1
                for s in succ[k]:
                    pending[(o, s)] -= 1
                    if pending[(o, s)] == 0:
                        stack.append((o, s))
            else:
                heapq.heappush(ready[system[k]], (-tail[k], o, k))

    for o in range(orders):
        for k in keys:
            if not deps[k]:
                release(o, k)
    rounds = 0
    while left:
        started = []
        for s, heap in ready.items():
            for _ in range(min(limits[s], len(heap))):
                _, o, k = heapq.heappop(heap)
                started.append((o, k))
        if not started:
            raise RuntimeError("the plan cannot be scheduled (a cycle?)")
        rounds += 1
        for o, k in started:
            left -= 1
            for s in succ[k]:
                pending[(o, s)] -= 1
                if pending[(o, s)] == 0:
                    release(o, s)
    return rounds * latency, bound


class InFlight:
    """Polls the simulators for requests not answered yet; keeps the peak of their sum."""

    def __init__(self, url: str, systems: list[str], window: int, every: float = 0.25):
        self.url, self.systems, self.window, self.every = url, systems, window, every
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "InFlight":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                total = 0
                for system in self.systems:
                    try:
                        resp = client.get(f"/simulators/{system}", params={"limit": self.window})
                        total += sum(1 for r in resp.json()["requests"] if r.get("status") is None)
                    except (httpx.HTTPError, ValueError, KeyError):
                        pass
                self.samples += 1
                self.peak = max(self.peak, total)
                self._stop.wait(self.every)


def run_latency(ctx: Context, kind: str, orders: int) -> dict[str, Any]:
    opts = ctx.options
    label = f"latency-{kind}"
    folder = ctx.folder / label
    folder.mkdir(parents=True, exist_ok=True)
    catalog = catalog_with_concurrency(folder, opts.concurrency)
    latency = opts.latency_ms / 1000
    with TempDatabase(kind, folder, tag="latency") as db:
        serve = Serve(folder, db.url, catalog=catalog, workers=0)
        worker = None
        reader = None
        try:
            serve.wait_ready()
            plan = serve.client.post("/api/v1/catalog/explain", json=seed_order(0, tag="explain"))
            plan.raise_for_status()
            plan_items = plan.json()["plan"]["items"]
            systems = sorted({p["system"] for p in plan_items if p["type"] == "callout"})
            limits = {s: opts.concurrency for s in systems}
            ideal, bound = ideal_schedule(plan_items, orders, latency, limits)
            for system in systems:
                serve.simulators(system, latency_ms=opts.latency_ms)
            say(f"{label}: submitting {orders} seed orders ({opts.latency_ms} ms latency, "
                f"concurrency {opts.concurrency}); ideal schedule {ideal:.1f} s (lower bound {bound:.1f} s)")
            submit_all(serve.url, [seed_order(i, tag=label) for i in range(orders)], concurrency=16)
            reader = Reader(db.url)
            done, total = reader.items_done_of()
            say(f"{label}: starting one worker process; {total} plan items")
            with InFlight(serve.url, systems, opts.concurrency + 50) as in_flight:
                spawned = time.time()
                worker = Worker(folder, db.url, catalog=catalog)
                wait_for(lambda: reader.items_done_of()[0] >= total, 120 if ctx.quick else 3600,
                         "the seed orders' plan items", poll=0.1, procs=[serve, worker])
                seen = time.time()
            t0 = worker.started_at() or spawned
            end = reader.last_finished()
            if end is None or not (t0 < end <= seen + 1):
                end = seen
            return {"seconds": end - t0, "ideal": ideal, "bound": bound, "items": total,
                    "callouts": sum(orders for p in plan_items if p["type"] == "callout"),
                    "peak": in_flight.peak, "systems": len(systems), "samples": in_flight.samples, "states": reader.order_states()}
        finally:
            if reader is not None:
                reader.close()
            stop_all([worker, serve])


def run(ctx: Context) -> list[Row]:
    rows = []
    opts = ctx.options
    orders = opts.latency_orders or (2000 if opts.full_size else 5 if ctx.quick else 200)
    for kind in ctx.databases:
        r = run_latency(ctx, kind, orders)
        ratio = r["seconds"] / r["ideal"]
        say(f"latency-{kind}: done in {r['seconds']:.1f} s, ideal {r['ideal']:.1f} s ({ratio:.2f}x); "
            f"peak {r['peak']} callouts in flight ({r['samples']} samples); orders {r['states']}")
        name = f"latency-bound {kind} (N={orders}, {opts.latency_ms} ms, limit {opts.concurrency})"
        note = "" if set(r["states"]) == {"completed"} else f"order states {r['states']}"
        rows.append(Row(name + ": time", f"{r['seconds']:.1f} s ({fmt_rate(r['callouts'] / r['seconds'], ' callouts/s')})",
                        f"{r['ideal']:.1f} s ideal schedule (bound {r['bound']:.1f} s)", ratio,
                        f"<= {GOAL_RATIO:g}x", ratio <= GOAL_RATIO, note))
        allowed = r["systems"] * opts.concurrency
        rows.append(Row(name + ": in flight", f"{r['peak']} callouts (peak, 1 process)",
                        f"{allowed} allowed ({r['systems']} systems x {opts.concurrency})", r["peak"] / allowed,
                        f">= {GOAL_IN_FLIGHT}", r["peak"] >= GOAL_IN_FLIGHT))
    return rows
