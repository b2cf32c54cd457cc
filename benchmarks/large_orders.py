"""Large orders (issue 11): orders of 100, 1,000 and 10,000 lines (the mixed order of the
reference catalog that benchmarks/decomposition.py uses: phones, plans, broadband, electricity,
gas) through the default `ordertower serve` (reference catalog, simulators at zero latency,
its worker process: a child of serve since issue 11's process model).

Each order runs alone, on a fresh database and server (`--quick`: every size on one server
and database, one start instead of one per size). For each: the time to `201`, the time
until the order is `completed`, its plan items, and the cost per plan item (time to complete /
plan items); at the time limit, how many of its plan items are done and what each has cost so
far (time / items done). Throughout, a thread polls `/health/live` and `/health` every 0.5 s
(10 s time-out) and keeps the slowest answer and every answer but 200; the server's peak
resident memory is the VmHWM (/proc/PID/status) of serve plus those of its worker processes,
read at the end.

The 10,000-line order is 1.99 MiB of compact JSON (2.18 MiB as `json.dumps` writes it by
default). Before commit 6f7b2b7 ordertower's body limit was 2 MiB (issue 11: such an order
was answered 413); since, an order may be 16 MiB. Should the default server answer 413, the
order goes to a server started through benchmarks/launch.py, the same `serve` with the
limit raised, and the row says so.

Figures: cost per plan item against the smallest order's, measured in the same run (goal: it
does not grow; read as <= 1.2x to allow for noise); the 10,000-line order done within 180 s;
`/health` under 1 s throughout; memory under 1 GB.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import httpx

from order_bodies import order_body
from support import (ORDERS, Context, Reader, Row, Serve, TempDatabase, fmt_ms, say)

FINAL_ORDER_STATES = {"completed", "failed", "partial", "cancelled", "rejected", "held"}
GOAL_COST_RATIO = 1.2
GOAL_10K_SECONDS = 180
GOAL_HEALTH = 1.0
GOAL_RSS_MB = 1024


class HealthWatch:
    """Polls /health/live and /health every ``every`` s; the slowest answer per window."""

    def __init__(self, url: str, every: float = 0.5, timeout: float = 10.0):
        self.url, self.every, self.timeout = url, every, timeout
        self.worst = {"/health/live": 0.0, "/health": 0.0}
        self.failures: dict[str, int] = {}  # "timeout", "HTTP 503", ...
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "HealthWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    def window(self) -> tuple[dict[str, float], dict[str, int]]:
        """The slowest answers and failures since the last call; starts a new window."""
        with self._lock:
            worst, failures = dict(self.worst), dict(self.failures)
            self.worst = {k: 0.0 for k in self.worst}
            self.failures = {}
        return worst, failures

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=self.timeout) as client:
            while not self._stop.is_set():
                for path in self.worst:
                    started = time.perf_counter()
                    try:
                        resp = client.get(path)
                        failure = None if resp.status_code == 200 else f"{path} {resp.status_code}"
                        if failure:  # what it says is wrong: {"database": "no answer within 5 s"}
                            try:
                                body = resp.json()
                                failure += " (" + ", ".join(f"{k}: {body[k]}" for k in ("database", "workers_ok")
                                                            if k in body) + ")"
                            except ValueError:
                                pass
                    except httpx.TimeoutException:
                        failure = f"{path} timed out"
                    except httpx.HTTPError as exc:
                        failure = f"{path} {type(exc).__name__}"
                    took = time.perf_counter() - started
                    with self._lock:
                        self.worst[path] = max(self.worst[path], took)
                        if failure:
                            self.failures[failure] = self.failures.get(failure, 0) + 1
                self._stop.wait(self.every)


@contextmanager
def default_server(kind: str, folder: Path) -> Iterator[SimpleNamespace]:
    """A fresh database and the default `serve` on it (``serve`` is replaced, and ``raised``
    set, should the server be restarted with a larger body limit)."""
    folder.mkdir(parents=True, exist_ok=True)
    with TempDatabase(kind, folder, tag="large") as db:
        server = SimpleNamespace(db=db, serve=Serve(folder, db.url), raised=False)
        try:
            yield server
        finally:
            server.serve.stop()


def one_order(ctx: Context, kind: str, n: int, time_limit: float,
              server: SimpleNamespace | None = None) -> dict[str, Any]:
    """One order of ``n`` lines on a fresh server and database, or on ``server`` (`--quick`:
    every size on one server, fewer process starts)."""
    label = f"large-{kind}-{n}"
    folder = ctx.folder / label
    folder.mkdir(parents=True, exist_ok=True)
    if server is None:
        with default_server(kind, folder) as server:
            return one_order(ctx, kind, n, time_limit, server)
    body = json.dumps(order_body(n, tag=label), separators=(",", ":")).encode()
    serve = server.serve
    reader = health = None
    try:
        serve.wait_ready()
        reader = Reader(server.db.url)
        say(f"{label}: a {n:,}-line order ({len(body) / 2**20:.2f} MiB)")
        while True:
            health = HealthWatch(serve.url).__enter__()
            started, started_wall = time.perf_counter(), time.time()
            resp = serve.client.post(ORDERS, content=body, timeout=time_limit,
                                     headers={"content-type": "application/json"})
            answered = time.perf_counter() - started
            if resp.status_code != 413 or server.raised:
                break
            # too large for the default server (before commit 6f7b2b7): raise its limit
            say(f"{label}: answered 413: restarting serve with the limit raised (benchmarks/launch.py)")
            server.raised = True
            health.__exit__(None, None, None)
            serve.stop()
            serve = server.serve = Serve(folder, server.db.url, name="serve-raised-limit",
                                         max_body_bytes=4 * len(body))
            serve.wait_ready()
        if resp.status_code != 201:
            raise RuntimeError(f"{n}-line order answered {resp.status_code}: {resp.text[:300]}")
        order_id = resp.json()["id"]
        state, done, total = "acknowledged", 0, 0
        last_report = time.perf_counter()
        while time.perf_counter() - started < time_limit:
            done, total = reader.items_done_of([order_id])
            state = reader.scalar("SELECT state FROM orders WHERE id = %s", (order_id,))
            if state in FINAL_ORDER_STATES:
                break
            if not serve.alive():
                raise RuntimeError(f"serve exited ({serve.popen.returncode}):\n{serve.tail()}")
            if time.perf_counter() - last_report > 30:
                last_report = time.perf_counter()
                say(f"{label}: {done:,} of {total:,} plan items done after "
                    f"{last_report - started:.0f} s (server RSS {serve.rss_mb() or 0:.0f} MB)")
            time.sleep(0.1 if time.perf_counter() - started < 10 else 0.5)
        elapsed = time.perf_counter() - started
        if state in FINAL_ORDER_STATES:  # the items as they are now (read above before the state)
            done, total = reader.items_done_of([order_id])
        end = reader.last_finished() if state in FINAL_ORDER_STATES else None
        if end is not None and started_wall < end <= time.time() + 1:
            elapsed = end - started_wall  # the last item's own time, not the poll's
        worst, failures = health.window()
        finished = state in FINAL_ORDER_STATES
        r = {"lines": n, "201": answered, "seconds": elapsed, "state": state, "done": done,
             "items": total, "finished": finished, "health": worst, "health_failures": failures,
             "rss": sum(serve.peak_rss_tree_mb()), "rss_parts": serve.peak_rss_tree_mb(),
             "raised": server.raised, "body": len(body),
             # finished: time to complete / its items; not finished: the time so far / the
             # items done so far (what an item has cost until the time limit)
             "cost": (elapsed / (total if finished else done)) if done else float("inf")}
        say(f"{label}: 201 after {answered:.2f} s; {state} after {elapsed:.1f} s; {done:,} of "
            f"{total:,} items; /health max {worst['/health']:.2f} s, /health/live max "
            f"{worst['/health/live']:.2f} s; peak RSS {r['rss']:.0f} MB (serve {r['rss_parts'][0]:.0f}, "
            f"its worker processes {r['rss_parts'][1]:.0f})")
        return r
    finally:
        if health is not None:
            health.__exit__(None, None, None)
        if reader is not None:
            reader.close()


def run(ctx: Context) -> list[Row]:
    opts = ctx.options
    sizes = sorted(int(s) for s in (opts.large_sizes or ("10,30" if ctx.quick else "100,1000,10000")).split(","))
    time_limit = opts.large_time_limit or (90 if ctx.quick else 300)
    rows = []
    for kind in ctx.databases:
        if ctx.quick:  # every size on one server and database: the smoke version starts one
            with default_server(kind, ctx.folder / f"large-{kind}") as server:
                results = [one_order(ctx, kind, n, time_limit, server) for n in sizes]
        else:  # each order alone, on a fresh server and database
            results = [one_order(ctx, kind, n, time_limit) for n in sizes]
        base = results[0]
        for r in results:
            name = f"large {kind}: {r['lines']:,} lines"
            if r["finished"]:
                figure = (f"{r['state']} in {r['seconds']:.1f} s, {r['items']:,} items, "
                          f"{fmt_ms(r['cost'])}/item")
                ratio = r["cost"] / base["cost"] if base["finished"] else None
            else:
                so_far = f"{fmt_ms(r['cost'])}/item so far" if r["done"] else "none done"
                figure = f"did not finish in {time_limit:g} s: {r['done']:,} of {r['items']:,} items done ({so_far})"
                ratio = r["cost"] / base["cost"] if base["finished"] and r["done"] else None
            goals = [] if r is base else [f"cost/item flat (<= {GOAL_COST_RATIO:g}x)"]
            met = None if r is base else (ratio is not None and ratio <= GOAL_COST_RATIO
                                          and r["state"] == "completed")
            if r["lines"] >= 10_000:
                goals.append(f"done < {GOAL_10K_SECONDS} s")
                met = (met is not False) and r["state"] == "completed" and r["seconds"] < GOAL_10K_SECONDS
            goal = "; ".join(goals) or "-"
            size = f"{r['body'] / 2**20:.2f} MiB" if r["body"] >= 2**20 else f"{r['body'] / 1024:,.0f} KiB"
            note = f"201 after {r['201']:.2f} s; body {size} of compact JSON"
            if r["raised"]:
                note += ("; the default serve answered 413 (body over its limit): "
                         "served with the limit raised (benchmarks/launch.py)")
            if r is base:
                rows.append(Row(name, figure, "-", None, goal, met, note))
            else:
                rows.append(Row(name, figure, f"{fmt_ms(base['cost'])}/item at {base['lines']:,} lines",
                                ratio, goal, met, note))
        worst_health = max(max(r["health"].values()) for r in results)
        failures: dict[str, int] = {}
        for r in results:
            for k, v in r["health_failures"].items():
                failures[k] = failures.get(k, 0) + v
        failed = "; ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
        rows.append(Row(f"large {kind}: slowest /health, /health/live",
                        f"{worst_health:.2f} s" + (f" ({sum(failures.values())} not 200)" if failures else ""),
                        "-", None, f"< {GOAL_HEALTH:g} s", worst_health < GOAL_HEALTH and not failures,
                        f"probes every 0.5 s, 10 s time-out; not 200: {failed}" if failures else ""))
        peak = max(results, key=lambda r: r["rss"])
        rss, (own, children) = peak["rss"], peak["rss_parts"]
        rows.append(Row(f"large {kind}: server peak RSS", f"{rss:,.0f} MB", "-", None,
                        f"< {GOAL_RSS_MB:,} MB", rss < GOAL_RSS_MB,
                        f"serve {own:,.0f} MB + its worker processes {children:,.0f} MB "
                        f"({peak['lines']:,} lines)"))
    return rows
