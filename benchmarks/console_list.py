"""The console's order list on a 100,000-order database (issue 9).

A fresh database is filled fast, beside the server, with bulk inserts through SQLAlchemy
Core: first the three example orders (phone and plan, broadband, electricity) are placed
through the API of a `serve --workers 0` (so the rows are ordertower's own: the order row
with its TMF622 body and validated items, its plan items, its events), then each is copied,
with new ids, customers (5 orders each), states (mostly completed, some in progress, held,
failed, cancelled, acknowledged) and creation times spread over 90 days, until the database
holds N orders (default 100,000; `--console-orders`). The tables are reflected from the
database, so nothing here imports ordertower. PostgreSQL is `ANALYZE`d afterwards, as its
autovacuum would do; SQLite is left as ordertower leaves it.

Then, on the server with its default settings (no worker running, so nothing moves), each
page is fetched `--console-repeat` times (default 20, after 3 warm-up requests) on one
keep-alive connection:

- the console's order list with its default filters (`GET /console/orders`: the newest 100),
- filtered by state and customer (`?state=held&customer=...`), by state alone
  (`?state=inProgress`), by customer alone, and by creation date (`?from=...&to=...`, a week),
- the baseline: `GET /tmf-api/productOrderingManagement/v4/productOrder?limit=50`, the same
  data through the TMF622 API (measured before and after the console pages; the median of
  the two medians).

Figures: the median (and p95) time of each page, its ratio to the TMF622 list, and the goal:
every console list answers in under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import (ORDERS, ROOT, Context, Row, Serve, TempDatabase, fmt_ms, say, uptime)  # noqa: E402

GOAL = 0.300
EXAMPLES = ("phone-and-plan.json", "broadband.json", "electricity.json")
# how the filled orders are spread over the states of an order's life cycle
STATES = (("completed", 0.80), ("inProgress", 0.09), ("held", 0.03), ("acknowledged", 0.03),
          ("failed", 0.02), ("cancelled", 0.02), ("partial", 0.01))
ORDERS_PER_CUSTOMER = 5
CHUNK = 2_000  # orders per transaction of the fill


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        engine = sa.create_engine(url, connect_args={"timeout": 60})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # as ordertower's own connections
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
        return engine
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


class Templates:
    """The rows of the example orders, as ordertower wrote them."""

    def __init__(self, engine: sa.Engine, order_ids: list[str]):
        self.meta = sa.MetaData()
        self.meta.reflect(engine, only=["orders", "plan_items", "events"])
        o, p, e = (self.meta.tables[t] for t in ("orders", "plan_items", "events"))
        self.orders, self.items, self.events = o, p, e
        with engine.connect() as conn:
            self.rows = []
            for oid in order_ids:
                order = dict(conn.execute(sa.select(o).where(o.c.id == oid)).mappings().one())
                items = [dict(r) for r in conn.execute(sa.select(p).where(p.c.order_id == oid)).mappings()]
                events = [dict(r) for r in conn.execute(sa.select(e).where(e.c.order_id == oid)
                                                        .order_by(e.c.id)).mappings()]
                self.rows.append((order, items, events))


def _copy(template, n: int, total: int, rng: random.Random, now: datetime, span: timedelta):
    """The rows of the n-th of ``total`` filled orders: a copy of a template with its own ids
    and facts, created at a time that grows with n over ``span`` until now."""
    order, items, events = template
    oid = str(uuid.UUID(int=rng.getrandbits(128)))
    state = rng.choices([s for s, _ in STATES], [w for _, w in STATES])[0]
    created = now - span * (1 - n / total) - timedelta(seconds=rng.random() * 60)
    customer = f"cust-{n // ORDERS_PER_CUSTOMER:06d}"
    body = json.loads(json.dumps(order["body"]))
    body["externalId"] = f"bench-{n:07d}"
    for party in body.get("relatedParty", []):
        if party.get("role") == "customer":
            party["id"] = customer
    done = state in ("completed", "failed", "partial", "cancelled")
    new_order = order | {"id": oid, "external_id": body["externalId"], "customer_id": customer,
                         "state": state, "body": body, "order_date": created.isoformat(),
                         "created_at": created, "updated_at": created + timedelta(minutes=3),
                         "completion_date": created + timedelta(minutes=3) if done else None}
    new_items = []
    for item in items:
        item_state = item["state"]
        if state == "completed":
            item_state = "completed"
        elif state == "cancelled":
            item_state = "cancelled"
        elif state == "held" and item["type"] == "callout" and item["pending_deps"] == 0:
            item_state = "fallout"
        new_items.append(item | {
            "id": str(uuid.UUID(int=rng.getrandbits(128))), "order_id": oid, "state": item_state,
            "attempts": 1 if item_state in ("completed", "fallout") else 0,
            "finished_at": created + timedelta(minutes=2) if item_state in ("completed", "fallout") else None,
            "last_error": "HTTP 503 from the system" if item_state == "fallout" else None,
            "created_at": created, "updated_at": created + timedelta(minutes=2)})
    new_events = [{k: v for k, v in ev.items() if k != "id"}
                  | {"event_id": uuid.uuid4().hex, "order_id": oid, "occurred_at": created,
                     "payload": ev["payload"] | {"order": oid}, "item_id": None}
                  for ev in events]
    if state != "acknowledged":
        new_events.append({"event_id": uuid.uuid4().hex, "type": "ProductOrderStateChangeEvent",
                           "order_id": oid, "item_id": None, "occurred_at": created + timedelta(minutes=3),
                           "published_at": None, "actor": "engine",
                           "payload": {"order": oid, "state": state, "previous": "acknowledged"}})
    return new_order, new_items, new_events


def fill(url: str, order_ids: list[str], total: int, seed: int = 11) -> dict[str, Any]:
    """Copy the template orders until the database holds ``total`` orders."""
    engine = _engine(url)
    t = Templates(engine, order_ids)
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    span = timedelta(days=90)
    started = time.monotonic()
    counts = {"orders": 0, "plan_items": 0, "events": 0}
    to_make = total - len(order_ids)
    n = 0
    while n < to_make:
        orders_rows, item_rows, event_rows = [], [], []
        for _ in range(min(CHUNK, to_make - n)):
            o, i, e = _copy(t.rows[n % len(t.rows)], n, to_make, rng, now, span)
            orders_rows.append(o)
            item_rows += i
            event_rows += e
            n += 1
        with engine.begin() as conn:
            conn.execute(t.orders.insert(), orders_rows)
            conn.execute(t.items.insert(), item_rows)
            conn.execute(t.events.insert(), event_rows)
        counts["orders"] += len(orders_rows)
        counts["plan_items"] += len(item_rows)
        counts["events"] += len(event_rows)
        if n % 20_000 < CHUNK:
            say(f"  filled {n + len(order_ids):,} orders ({time.monotonic() - started:.0f} s)")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    counts["seconds"] = time.monotonic() - started
    return counts


def timed(client: httpx.Client, path: str, repeat: int) -> dict[str, Any]:
    """Median, p95 and max of ``repeat`` GETs of ``path`` (after 3 warm-ups)."""
    for _ in range(3):
        resp = client.get(path)
        if resp.status_code != 200:
            raise RuntimeError(f"GET {path} answered {resp.status_code}: {resp.text[:300]}")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append(time.perf_counter() - t0)
        if resp.status_code != 200:
            raise RuntimeError(f"GET {path} answered {resp.status_code}: {resp.text[:300]}")
    times.sort()
    return {"median": statistics.median(times), "p95": times[max(0, int(len(times) * 0.95) - 1)],
            "max": times[-1], "bytes": len(resp.content)}


def measure(ctx_folder: Path, kind: str, total: int, repeat: int) -> list[Row]:
    folder = ctx_folder / f"console-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    with TempDatabase(kind, folder, tag="console") as db:
        serve = Serve(folder, db.url, workers=0, extra=["--no-simulators"])
        try:
            serve.wait_ready()
            ids = []
            for name in EXAMPLES:
                body = json.loads((ROOT / "examples" / name).read_text())
                resp = serve.client.post(ORDERS, json=body)
                if resp.status_code != 201:
                    raise RuntimeError(f"POST {name} answered {resp.status_code}: {resp.text[:300]}")
                ids.append(resp.json()["id"])
            say(f"console-{kind}: filling {total:,} orders")
            counts = fill(db.url, ids, total)
            say(f"console-{kind}: {counts['orders'] + len(ids):,} orders, {counts['plan_items']:,} plan items, "
                f"{counts['events']:,} events in {counts['seconds']:.0f} s; uptime {uptime()}")
            held = int(serve.client.get(ORDERS, params={"limit": 1, "state": "held"}).headers["X-Total-Count"])
            pick = serve.client.get(ORDERS, params={"limit": 1, "offset": held // 2, "state": "held"}).json()
            customer = next(p["id"] for p in pick[0]["relatedParty"] if p.get("role") == "customer")
            start = (datetime.now(timezone.utc) - timedelta(days=30)).date()
            week = (start.isoformat(), (start + timedelta(days=6)).isoformat())
            pages = [("console order list, default filters", "/console/orders"),
                     ("console order list, state=held & customer", f"/console/orders?state=held&customer={customer}"),
                     ("console order list, state=inProgress", "/console/orders?state=inProgress"),
                     ("console order list, customer", f"/console/orders?customer={customer}"),
                     ("console order list, created in one week", f"/console/orders?from={week[0]}&to={week[1]}")]
            # under --no-auth the console makes a session on the first visit (a redirect and a
            # cookie): the warm-up requests take it, the timed ones carry it
            with httpx.Client(base_url=serve.url, timeout=60, follow_redirects=True) as client:
                base = timed(client, f"{ORDERS}?limit=50", repeat)
                results = [(label, path, timed(client, path, repeat)) for label, path in pages]
                base_again = timed(client, f"{ORDERS}?limit=50", repeat)
            load = uptime()
        finally:
            serve.stop()
    base_median = statistics.median([base["median"], base_again["median"]])
    rows = []
    for label, path, r in results:
        rows.append(Row(f"{label} ({kind}, {total:,} orders)",
                        f"median {fmt_ms(r['median'])} (p95 {fmt_ms(r['p95'])}, max {fmt_ms(r['max'])})",
                        f"TMF622 list limit=50: median {fmt_ms(base_median)}",
                        r["median"] / base_median if base_median else None, "< 300 ms",
                        r["p95"] < GOAL, f"GET {path}, {r['bytes']:,} bytes; uptime after: {load}"))
    return rows


def run(ctx: Context) -> list[Row]:
    opts = ctx.options
    total = getattr(opts, "console_orders", None) or (300 if ctx.quick else 100_000)
    repeat = getattr(opts, "console_repeat", None) or (3 if ctx.quick else 20)
    rows: list[Row] = []
    for kind in ctx.databases:
        rows += measure(ctx.folder, kind, total, repeat)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run this benchmark alone: `uv run python benchmarks/console_list.py [--database ...]`."""
    import shutil
    import tempfile

    from support import print_table

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--console-orders", type=int, help="orders in the database (default 100,000)")
    p.add_argument("--console-repeat", type=int, help="timed requests per page (default 20)")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="ordertower-console-bench-"))
    ctx = Context(folder=folder, quick=args.quick, options=args,
                  databases=["sqlite", "postgresql"] if args.database == "both" else [args.database])
    say(f"uptime at start: {uptime()}")
    try:
        rows = run(ctx)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nconsole list benchmark - {time.strftime('%Y-%m-%d %H:%M')}; uptime at end: {uptime()}\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
