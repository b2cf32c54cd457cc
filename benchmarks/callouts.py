"""Callout-bound (issue 11): N seed orders (examples/phone-and-plan.json, each for a customer
of its own: 5 callouts and 2 auto items) through the API of the default `ordertower serve`
(reference catalog, simulators at zero latency, its worker processes), from the first
`POST productOrder` (4 clients) to the last plan item finished.

Figure: plan items per second. Baseline, measured on the same server just before: sequential
`GET /simulators/warehouse` round trips of one keep-alive client (httpx requests over aiohttp,
as the callouts), the rate of the stack a callout goes through (uvicorn, FastAPI, aiohttp)
with nothing else to do. Goal: >= 0.5 x.
"""

from __future__ import annotations

import time

from baselines import http_round_trips
from order_bodies import seed_order
from support import (Context, Reader, Row, Serve, TempDatabase, fmt_rate, rate, say, submit_all,
                     wait_for)

GOAL = 0.5


def run_callouts(ctx: Context, kind: str, orders: int) -> dict:
    label = f"callouts-{kind}"
    folder = ctx.folder / label
    folder.mkdir(parents=True, exist_ok=True)
    with TempDatabase(kind, folder, tag="callouts") as db:
        serve = Serve(folder, db.url)  # the default serve: reference catalog, simulators, 1 worker
        reader = None
        try:
            serve.wait_ready()
            say(f"{label}: HTTP round-trip baseline against this server's simulators")
            http = http_round_trips(serve.url, 0.3 if ctx.quick else 3.0)
            ctx.baselines.setdefault(f"http/{kind}", []).append(http)
            say(f"{label}: submitting {orders} seed orders (workers on)")
            t0 = time.time()
            ids = submit_all(serve.url, [seed_order(i, tag=label) for i in range(orders)], concurrency=4)
            reader = Reader(db.url)

            def all_done() -> bool:
                done, total = reader.items_done_of()
                return total >= 7 * len(ids) and done >= total

            wait_for(all_done, 120 if ctx.quick else 1800, "the seed orders' plan items", poll=0.1,
                     procs=[serve])
            seen = time.time()
            done, total = reader.items_done_of()
            end = reader.last_finished()
            if end is None or not (t0 < end <= seen + 1):
                end = seen
            states = reader.order_states()
            return {"items": total, "seconds": end - t0, "rate": rate(total, end - t0), "http": http,
                    "states": states}
        finally:
            if reader is not None:
                reader.close()
            serve.stop()


def run(ctx: Context) -> list[Row]:
    rows = []
    orders = ctx.options.callout_orders or (5 if ctx.quick else 200)
    for kind in ctx.databases:
        r = run_callouts(ctx, kind, orders)
        say(f"callouts-{kind}: {r['items']} items in {r['seconds']:.1f} s = {r['rate']:.1f} items/s; "
            f"HTTP {r['http']:.0f} requests/s; orders {r['states']}")
        ratio = r["rate"] / r["http"]
        note = "" if set(r["states"]) == {"completed"} else f"order states {r['states']}"
        rows.append(Row(f"callout-bound {kind} (N={orders} seed orders)",
                        f"{fmt_rate(r['rate'], ' items/s')} ({r['items']:,} in {r['seconds']:.1f} s)",
                        f"{fmt_rate(r['http'], ' requests/s')} (HTTP)", ratio, f">= {GOAL:g}x",
                        ratio >= GOAL, note))
    return rows
