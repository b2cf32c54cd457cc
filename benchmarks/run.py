"""Run the engine benchmarks of issue 11 and print one table.

    uv run python benchmarks/run.py [--quick] [--only NAME ...] [--database sqlite|postgresql|both]
                                    [--engine worktree|REV|DIR] [--markdown] [--keep]
                                    [sizes, durations, repeats: see --help]

Benchmarks (NAME): w, callouts, latency, intake, large, scaling, console. Each figure is printed beside
a baseline measured in the same run, with the ratio and the goal of issue 11. `--quick` is
the smoke version CI runs (small N, seconds each): its figures are not claims. The machine's
`uptime` load averages are printed at the start and the end: read every figure with them.

What each benchmark does and what bounds each figure: docs/performance.md.
PostgreSQL: throw-away databases on $ORDERTOWER_BENCH_PG_ADMIN
(default postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402
from support import Context, Row, engine_source, print_markdown, print_table, say, uptime  # noqa: E402

BENCHMARKS = {  # name -> module, in the order they run
    "w": "workload_w",
    "callouts": "callouts",
    "latency": "latency",
    "intake": "intake",
    "large": "large_orders",
    "scaling": "scaling",
    "console": "console_list",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the short smoke version of each (CI)")
    p.add_argument("--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME",
                   help=f"run only these: {', '.join(BENCHMARKS)}")
    p.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder (server and worker logs)")
    p.add_argument("--engine", default="worktree", metavar="worktree|REV|DIR",
                   help="the ordertower to measure: this checkout as it is (default), a git revision "
                        "exported with git archive (e.g. HEAD: a fixed commit while others edit), or a src folder")
    g = p.add_argument_group("workload W")
    g.add_argument("--w-orders", type=int, help="orders (default 500; --quick 10)")
    g.add_argument("--w-workers-sqlite", type=int, default=1)
    g.add_argument("--w-workers-postgresql", type=int, default=2)
    g.add_argument("--w-repeat", type=int, default=1, help="run W this many times on each database")
    g.add_argument("--w-time-limit", type=float, default=900, help="seconds for one W run")
    g = p.add_argument_group("callout-bound")
    g.add_argument("--callout-orders", type=int, help="seed orders (default 200; --quick 5)")
    g = p.add_argument_group("latency-bound")
    g.add_argument("--latency-orders", type=int, help="seed orders (default 200; --quick 5)")
    g.add_argument("--full-size", action="store_true", help="latency-bound with issue 11's 2,000 orders")
    g.add_argument("--latency-ms", type=int, default=500)
    g.add_argument("--concurrency", type=int, default=200, help="every system's concurrency limit")
    g = p.add_argument_group("intake")
    g.add_argument("--intake-rate", type=float, help="orders per second (default 100; --quick 20)")
    g.add_argument("--intake-seconds", type=float, help="duration (default 60; --quick 1)")
    g.add_argument("--intake-baseline-seconds", type=float,
                   help="duration of the API-only baseline (default 15; --quick 0.5)")
    g = p.add_argument_group("large orders")
    g.add_argument("--large-sizes", help="order lines, comma-separated (default 100,1000,10000; --quick 10,30, on one server)")
    g.add_argument("--large-time-limit", type=float, help="seconds per order (default 300; --quick 90)")
    g = p.add_argument_group("scaling")
    g.add_argument("--scaling-workers", help="worker processes, comma-separated (default 1,2,4; --quick 1,2)")
    g.add_argument("--scaling-orders", type=int, help="orders (default: as W)")
    g = p.add_argument_group("console list")
    g.add_argument("--console-orders", type=int, help="orders in the database (default 100,000; --quick 300)")
    g.add_argument("--console-repeat", type=int, help="timed requests per page (default 20; --quick 3)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    folder = Path(tempfile.mkdtemp(prefix="ordertower-bench-"))
    ctx = Context(folder=folder, quick=args.quick, databases=databases, options=args)
    engine = engine_source(args.engine, folder)
    if args.quick:  # the processes of a short run share one bytecode cache (support.PYCACHE):
        # the caller's PYTHONPYCACHEPREFIX (the smoke test gives its two runs one), else a new one
        support.PYCACHE = Path(os.environ.get("PYTHONPYCACHEPREFIX") or folder / "pycache")
    load_start = uptime()
    started = time.monotonic()
    say(f"ordertower engine benchmarks{' (quick)' if args.quick else ''}: {', '.join(names)} on "
        f"{' and '.join(databases)}; scratch folder {folder}")
    say(f"engine: {engine}")
    say(f"uptime at start: {load_start}")
    rows: list[Row] = []
    failed = []
    try:
        for name in names:
            module = importlib.import_module(BENCHMARKS[name])
            say(f"--- {name} ---")
            try:
                rows += module.run(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
                failed.append(name)
                traceback.print_exc()
                rows.append(Row(f"{name}", f"ERROR: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"))
    finally:
        if args.keep or failed:
            say(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    load_end = uptime()
    rows = _baseline_rows(ctx) + rows
    print(f"\nordertower engine benchmarks{' (quick: smoke figures, not claims)' if args.quick else ''}"
          f" - {time.strftime('%Y-%m-%d %H:%M')} - {time.monotonic() - started:.0f} s")
    print(f"engine: {engine}")
    print(f"uptime at start: {load_start}")
    print(f"uptime at end:   {load_end}\n")
    print_table(rows)
    if args.markdown:
        print()
        print_markdown(rows)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
        return 1
    return 0


def _baseline_rows(ctx: Context) -> list[Row]:
    from support import fmt_rate

    def spread(values: list[float], unit: str) -> str:
        if len(values) == 1:
            return fmt_rate(values[0], unit)
        return (f"{fmt_rate(median(values), unit)} median of {len(values)} "
                f"({fmt_rate(min(values), '')} to {fmt_rate(max(values), '')})")

    rows = []
    labels = {"commits/sqlite": "baseline: sqlite3 single-row UPDATE commits (WAL, sync=NORMAL)",
              "commits/postgresql": "baseline: PostgreSQL single-row UPDATE commits, 1 connection"}
    for key, values in ctx.baselines.items():
        if key in labels:
            rows.append(Row(labels[key], spread(values, " commits/s"), ctx.baseline_notes.get(key, "")))
        elif key.startswith("http/"):
            rows.append(Row(f"baseline: HTTP round trips, 1 keep-alive client ({key[5:]} serve)",
                            spread(values, " requests/s"), "uvicorn+aiohttp"))
    return rows


if __name__ == "__main__":
    sys.exit(main())
