"""Scaling (issue 11): workload W on PostgreSQL with 1, 2 and 4 `ordertower worker` processes
(as benchmarks/workload_w.py: N orders submitted first, fresh database each time).

Figure: plan items per second with K processes, against one process's rate measured in the
same run; the per-process efficiency is rate(K) / (K x rate(1)). Goal: no worse with more
processes (ratio >= 1.0). A W run of the same N and K made by the `w` benchmark in the same
run is reused, not repeated (W runs PostgreSQL with 2 processes by default).
"""

from __future__ import annotations

from statistics import median

from support import Context, Row, fmt_rate, say
from workload_w import w_rate


def run(ctx: Context) -> list[Row]:
    if "postgresql" not in ctx.databases:
        return [Row("scaling postgresql", "skipped: needs --database postgresql or both")]
    opts = ctx.options
    counts = [int(k) for k in (opts.scaling_workers or ("1,2" if ctx.quick else "1,2,4")).split(",")]
    orders = opts.scaling_orders or opts.w_orders or (10 if ctx.quick else 500)
    rates = {}
    for k in counts:
        runs = ctx.w_runs.get(("postgresql", k, orders))
        if runs:
            say(f"scaling: {k} worker(s): reusing the W run(s) of this run: {[round(r, 1) for r in runs]} items/s")
        else:
            w_rate(ctx, "postgresql", orders, k, f"scaling-postgresql-{k}w")
            runs = ctx.w_runs[("postgresql", k, orders)]
        rates[k] = median(runs)
    one = rates.get(1)
    rows = []
    for k in counts:
        eff = rates[k] / (k * one) if one else None
        ratio = rates[k] / one if one else None
        figure = fmt_rate(rates[k], " items/s") + (f", efficiency {eff:.2f}/process" if eff is not None else "")
        rows.append(Row(f"scaling postgresql: W with {k} worker process{'es' if k > 1 else ''} (N={orders})",
                        figure, f"{fmt_rate(one, ' items/s')} with 1" if (one and k != 1) else "-",
                        ratio if k != 1 else None, ">= 1.0x (no worse)" if k != 1 else "-",
                        (ratio >= 1.0) if (k != 1 and ratio is not None) else None))
    return rows
