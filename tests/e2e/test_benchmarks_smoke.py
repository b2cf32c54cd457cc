"""The engine benchmarks (benchmarks/run.py, issue 11) still run: their short smoke version
on SQLite and on PostgreSQL (two processes side by side, to keep the test short), each
printing a row for every benchmark. Figures and goals are not checked: on a CI machine they
are not claims (docs/performance.md has the measured ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ROWS = {  # what each run's table must show, by the start of the row
    "sqlite": ["baseline: sqlite3 single-row UPDATE commits", "baseline: HTTP round trips",
               "W sqlite", "callout-bound sqlite", "latency-bound sqlite (", "intake sqlite",
               "large sqlite: 10 lines", "large sqlite: 30 lines", "large sqlite: slowest /health",
               "large sqlite: server peak RSS", "scaling postgresql",
               "console order list, default filters (sqlite"],
    "postgresql": ["baseline: PostgreSQL single-row UPDATE commits", "baseline: HTTP round trips",
                   "W postgresql", "callout-bound postgresql", "latency-bound postgresql (",
                   "intake postgresql", "large postgresql: 10 lines", "large postgresql: 30 lines",
                   "large postgresql: slowest /health", "large postgresql: server peak RSS",
                   "scaling postgresql: W with 1 worker", "scaling postgresql: W with 2 worker",
                   "console order list, default filters (postgresql"],
}


@pytest.mark.timeout(460)
def test_every_benchmark_runs_in_its_quick_version_on_both_databases():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTOWER_")}
    if os.environ.get("ORDERTOWER_TEST_PG_ADMIN"):
        env["ORDERTOWER_BENCH_PG_ADMIN"] = os.environ["ORDERTOWER_TEST_PG_ADMIN"]
    runs = {db: subprocess.Popen([sys.executable, "benchmarks/run.py", "--quick", "--database", db],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            for db in ROWS}
    outputs = {}
    try:
        for db, proc in runs.items():
            outputs[db] = proc.communicate(timeout=420)
    finally:
        for proc in runs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    for db, (out, err) in outputs.items():
        assert runs[db].returncode == 0, f"--quick --database {db} exited {runs[db].returncode}:\n{out}\n{err[-4000:]}"
        lines = out.splitlines()
        assert any(line.startswith("uptime at start:") for line in lines)
        assert any(line.startswith("uptime at end:") for line in lines)
        missing = [row for row in ROWS[db] if not any(line.startswith(row) for line in lines)]
        assert not missing, f"rows missing from the {db} table: {missing}\n{out}"
        assert "ERROR" not in out, out
