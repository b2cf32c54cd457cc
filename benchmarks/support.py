"""Shared helpers of the engine benchmarks (issue 11): throw-away databases, ordertower
processes, submitting orders, polling, percentiles and the result table.

The benchmarks drive ordertower only through its public interfaces: the `ordertower serve`
and `ordertower worker` commands run as processes, the HTTP API, and read-only queries of
`plan_items.state`, `plan_items.finished_at` and `orders.state` to follow progress without
going through the server under test. Nothing here imports ordertower, so the benchmarks keep
working while the engine's insides change, and `run.py --engine REV` can measure another
commit.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
W_CATALOG = BENCH / "catalogs" / "workload-w"
# the ordertower the processes run: this checkout's (as installed), or the `src` folder of
# another tree given by `run.py --engine` (set by engine_source() below)
ENGINE_SRC: Path | None = None
# `run.py --quick`: the Python bytecode cache every process of the run shares, in its scratch
# folder (set by run.py). Where PYTHONDONTWRITEBYTECODE is set, as on the shared development
# machine, each `serve` and `worker` would otherwise compile ordertower and its libraries from
# source at every start: about 1.5 CPU-s of the 3 a start costs, and the smoke version starts
# some thirty of them. Nothing is written in the checkout or its .venv.
PYCACHE: Path | None = None
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"
PG_ADMIN_URL = os.environ.get("ORDERTOWER_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DONE_ITEM_STATES = ("completed", "skipped")
FINAL_ORDER_STATES = ("completed", "failed", "partial", "cancelled", "rejected")


# --- results --------------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    figure: str
    baseline: str = "-"
    ratio: float | None = None
    goal: str = "-"
    met: bool | None = None
    note: str = ""

    def cells(self) -> list[str]:
        ratio = "-" if self.ratio is None else (f"{self.ratio:.4f}" if self.ratio < 0.1 else f"{self.ratio:.2f}")
        met = "-" if self.met is None else ("yes" if self.met else "NO")
        return [self.benchmark, self.figure, self.baseline, ratio, self.goal, met]


def print_table(rows: list[Row], out=sys.stdout) -> None:
    header = ["benchmark", "figure", "baseline (same run)", "ratio", "goal", "met?"]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    for n, c in enumerate(cells):
        print("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip(), file=out)
        if n == 0:
            print(line, file=out)
    notes = [r for r in rows if r.note]
    if notes:
        print("\nnotes:", file=out)
        for r in notes:
            print(f"  {r.benchmark}: {r.note}", file=out)


def print_markdown(rows: list[Row], out=sys.stdout) -> None:
    header = ["benchmark", "figure", "baseline (same run)", "ratio", "goal", "met?"]
    print("| " + " | ".join(header) + " |", file=out)
    print("| " + " | ".join(["---"] * len(header)) + " |", file=out)
    for r in rows:
        print("| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |", file=out)


def say(*parts: Any) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        one, five, fifteen = os.getloadavg()
        return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100), nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


# --- databases ------------------------------------------------------------------------------------

def _pg_connect(url: str, autocommit: bool = True):
    import psycopg

    return psycopg.connect(url, autocommit=autocommit)


class TempDatabase:
    """A throw-away database: a SQLite file in ``folder``, or a PostgreSQL database created on
    the server of ``ORDERTOWER_BENCH_PG_ADMIN`` and dropped (WITH FORCE) on exit."""

    def __init__(self, kind: str, folder: Path, tag: str = "bench"):
        self.kind = kind
        self.name = f"ordertower_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / (self.name + '.db')}"
        elif kind == "postgresql":
            self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        else:
            raise ValueError(f"unknown database kind {kind!r}")

    def __enter__(self) -> "TempDatabase":
        if self.kind == "postgresql":
            with _pg_connect(PG_ADMIN_URL) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            _LIVE_DATABASES.add(self)
        return self

    def __exit__(self, *exc) -> None:
        _LIVE_DATABASES.discard(self)
        if self.kind == "postgresql":
            try:
                with _pg_connect(PG_ADMIN_URL) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001 - report, never mask the benchmark's own error
                say(f"could not drop database {self.name}: {e}")


class Reader:
    """Read-only queries on the database under test (one connection, autocommit reads)."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            self.kind = "sqlite"
            path = url[len("sqlite:///"):]
            # a plain connection that only ever reads (a read-only one cannot always open a
            # WAL file whose -shm is gone between two processes)
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout = 30000")
        else:
            self.kind = "postgresql"
            self.conn = _pg_connect(url)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.kind == "sqlite":
            return self.conn.execute(sql.replace("%s", "?"), params).fetchall()
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        rows = self.rows(sql, params)
        return rows[0][0] if rows else None

    def items_done_of(self, order_ids: Iterable[str] | None = None) -> tuple[int, int]:
        """(done, total) plan items; of the given orders, or of every order."""
        if order_ids is None:
            rows = self.rows("SELECT state, count(*) FROM plan_items GROUP BY state")
        else:
            ids = list(order_ids)
            marks = ", ".join(["%s"] * len(ids))
            rows = self.rows(f"SELECT state, count(*) FROM plan_items WHERE order_id IN ({marks}) "
                             f"GROUP BY state", tuple(ids))
        counts = dict(rows)
        return sum(counts.get(s, 0) for s in DONE_ITEM_STATES), sum(counts.values())

    def orders_final(self) -> int:
        """How many orders are in a final state: a cheaper poll than ``items_done_of`` (an
        order has several items), which took a few percent of the database's CPU from the
        engine under test when polled ten times a second."""
        marks = ", ".join(["%s"] * len(FINAL_ORDER_STATES))
        return self.scalar(f"SELECT count(*) FROM orders WHERE state IN ({marks})", FINAL_ORDER_STATES)

    def order_states(self) -> dict[str, int]:
        return dict(self.rows("SELECT state, count(*) FROM orders GROUP BY state"))

    def last_finished(self) -> float | None:
        """The latest ``finished_at`` of a plan item, as a Unix time (None if unreadable)."""
        try:
            return as_unix(self.scalar("SELECT max(finished_at) FROM plan_items"))
        except Exception:  # noqa: BLE001 - the column is the engine's business: fall back
            return None

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass


def as_unix(value: Any) -> float | None:
    """A timestamp as stored (SQLite text, naive UTC; PostgreSQL timestamptz) -> Unix time."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    return None


# --- processes ------------------------------------------------------------------------------------

_LIVE: set["Proc"] = set()
_LIVE_DATABASES: set[TempDatabase] = set()


def _stop_all() -> None:
    for p in list(_LIVE):
        p.stop()
    for db in list(_LIVE_DATABASES):
        db.__exit__(None, None, None)


atexit.register(_stop_all)


def _on_signal(signum, frame) -> None:  # noqa: ANN001
    """SIGTERM, SIGHUP, SIGINT: stop what this run started, drop its databases, exit at once (an
    interrupted asyncio load generator could take long to unwind)."""
    say(f"signal {signum}: stopping the processes this run started")
    _stop_all()
    os._exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(_sig, _on_signal)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without ORDERTOWER_* settings of the caller's shell; PYTHONPATH names
    the engine's source when `--engine` chose one; under `--quick`, the run's shared bytecode
    cache (PYCACHE)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTOWER_")}
    env["ORDERTOWER_LOG_FORMAT"] = "json"
    if ENGINE_SRC is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(ENGINE_SRC)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if PYCACHE is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env | extra


def reference_catalog() -> Path:
    return (ENGINE_SRC or ROOT / "src") / "ordertower" / "catalogs" / "reference"


def _git(*args: str) -> str:
    """A read-only git command in this checkout."""
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def engine_source(choice: str, folder: Path) -> str:
    """Select the ordertower the benchmarks run, and describe it.

    ``worktree``: this checkout as it is (uncommitted changes included). A git revision
    (``HEAD``, a commit): its ``src`` exported with ``git archive`` into ``folder`` (the
    checkout is not touched), so that a run measures one fixed commit while others edit.
    A folder: an ordertower ``src`` folder (the one holding the ``ordertower`` package)."""
    global ENGINE_SRC
    if choice == "worktree":
        ENGINE_SRC = None
        try:
            head = _git("rev-parse", "--short", "HEAD")
            dirty = len([x for x in _git("status", "--porcelain", "--", "src").splitlines() if x.strip()])
            return f"this checkout's src (HEAD {head}" + (f" + {dirty} changed files under src/)" if dirty else ")")
        except (OSError, subprocess.CalledProcessError):
            return "this checkout's src"
    if Path(choice).is_dir():
        ENGINE_SRC = Path(choice).resolve()
        if not (ENGINE_SRC / "ordertower").is_dir():
            raise SystemExit(f"--engine {choice}: no ordertower package in that folder")
        return f"the ordertower in {ENGINE_SRC}"
    try:
        sha = _git("rev-parse", "--verify", f"{choice}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"--engine {choice}: not 'worktree', a folder or a git revision")
    target = folder / f"engine-{sha[:12]}"
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", sha, "src"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    ENGINE_SRC = target / "src"
    subject = _git("log", "-1", "--format=%h %cs %s", sha)
    return f"commit {subject[:90]} (exported with git archive)"


class Proc:
    """One process the benchmark started; its output in a file; always stopped (terminate,
    then kill), also when the benchmark fails or is interrupted."""

    def __init__(self, args: list[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None):
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "w+b")
        self.popen = subprocess.Popen(args, cwd=cwd, env=env or clean_env(), stdout=self._log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid = self.popen.pid
        _LIVE.add(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log_path.read_bytes().splitlines():
            if raw.startswith(b"{"):
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    pass
        return out

    def logged(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.json_lines() if line.get("event") == event]

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def peak_rss_mb(self) -> float | None:
        return proc_status_mb(self.pid, "VmHWM")

    def rss_mb(self) -> float | None:
        return proc_status_mb(self.pid, "VmRSS")

    def children(self) -> list[int]:
        """The processes this one started (serve's worker processes), from /proc."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[1]) == self.pid and fields[0] != "Z":
                    found.append(int(entry.name))
        return found

    def peak_rss_tree_mb(self) -> tuple[float, float]:
        """(this process's peak resident memory, the sum of its children's peaks), in MiB."""
        children = sum(proc_status_mb(pid, "VmHWM") or 0.0 for pid in self.children())
        return self.peak_rss_mb() or 0.0, children

    def stop(self, timeout: float = 30) -> int | None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        _LIVE.discard(self)
        if not self._log.closed:
            self._log.close()
        return self.popen.returncode


def proc_status_mb(pid: int, field_name: str) -> float | None:
    """A memory figure of /proc/PID/status (VmHWM: peak resident set; VmRSS: now), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ordertower(*args: str) -> list[str]:
    # the venv's Python, not `uv run`: the PID is the server's own (for its memory figures)
    return [sys.executable, "-m", "ordertower.entrypoints.cli", *args]


class Serve(Proc):
    """`ordertower serve` on a free loopback port, no access control (loopback only).

    ``max_body_bytes``: when set, the server runs through benchmarks/launch.py, which starts
    the same `serve` command with that request body limit (ordertower has no flag for it)."""

    def __init__(self, folder: Path, database_url: str, *, catalog: Path | None = None,
                 workers: int | None = None, name: str = "serve", extra: Iterable[str] = (),
                 max_body_bytes: int | None = None):
        args = ["serve", "--no-auth", "--host", "127.0.0.1", "--database", database_url,
                "--log-format", "json", "--grace-seconds", "5", *extra]
        if workers is not None:  # None: serve's default (1 worker process on SQLite, 2 on PostgreSQL)
            args += ["--workers", str(workers)]
        if catalog is not None:
            args += ["--catalog", str(catalog)]
        if max_body_bytes:
            self._command = [sys.executable, str(BENCH / "launch.py"), "--max-body-bytes", str(max_body_bytes), *args]
        else:
            self._command = _ordertower(*args)
        self._folder, self._name = folder, name
        self._listen(free_port())
        super().__init__(self._command + ["--port", str(self.port)], folder / f"{name}.log", folder)

    def _listen(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def _listening(self) -> bool:
        """This process logged that it listens on its port: what answers there is this server,
        not another that took the port between free_port() and the bind."""
        return any(line.get("event", "").startswith(f"Uvicorn running on {self.url} ")
                   for line in self.json_lines())

    def wait_ready(self, timeout: float = 120) -> "Serve":
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                if "address already in use" in self.tail():  # another server was first: elsewhere
                    self.stop()
                    self.client.close()
                    self._listen(free_port())
                    Proc.__init__(self, self._command + ["--port", str(self.port)],
                                  self._folder / f"{self._name}.log", self._folder)
                    continue
                raise RuntimeError(f"serve exited ({self.popen.returncode}):\n{self.tail()}")
            try:
                if self._listening() and self.client.get("/health/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve was not ready within {timeout} s:\n{self.tail()}")
            time.sleep(0.1)

    def simulators(self, system: str, **settings: Any) -> None:
        self.client.put(f"/simulators/{system}", json=settings).raise_for_status()

    def stop(self, timeout: float = 30) -> int | None:
        self.client.close()
        return super().stop(timeout)


class Worker(Proc):
    """`ordertower worker` (a worker process only)."""

    def __init__(self, folder: Path, database_url: str, *, catalog: Path | None = None,
                 name: str = "worker", extra: Iterable[str] = ()):
        args = ["worker", "--database", database_url, "--log-format", "json", "--grace-seconds", "5", *extra]
        if catalog is not None:
            args += ["--catalog", str(catalog)]
        super().__init__(_ordertower(*args), folder / f"{name}.log", folder)

    def started_at(self) -> float | None:
        """Unix time of its `worker started` log line (its loop begins claiming then)."""
        lines = self.logged("worker started")
        return as_unix(lines[0]["timestamp"]) if lines else None


def stop_all(procs: Iterable[Proc | None]) -> None:
    for p in procs:
        if p is not None:
            p.stop()


def wait_for(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.1,
             procs: Iterable[Proc] = ()) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.args[2:4]} exited ({p.popen.returncode}) while waiting for "
                                   f"{what}:\n{p.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


# --- orders -------------------------------------------------------------------------------------

async def _submit(url: str, bodies: list[dict[str, Any]], concurrency: int) -> list[str]:
    ids: list[str | None] = [None] * len(bodies)
    queue = iter(range(len(bodies)))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        async def one_client() -> None:
            for i in queue:
                raw = json.dumps(bodies[i], separators=(",", ":")).encode()
                resp = await client.post(ORDERS, content=raw, headers={"content-type": "application/json"})
                if resp.status_code != 201:
                    raise RuntimeError(f"POST productOrder answered {resp.status_code}: {resp.text[:300]}")
                ids[i] = resp.json()["id"]

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return [i for i in ids if i]


def submit_all(url: str, bodies: list[dict[str, Any]], concurrency: int = 8) -> list[str]:
    """POST every body (``concurrency`` clients, keep-alive); their order ids. Any answer but
    201 stops the benchmark."""
    return asyncio.run(_submit(url, bodies, concurrency))


def fmt_rate(x: float, unit: str = "/s") -> str:
    if x >= 100:
        return f"{x:,.0f}{unit}"
    if x >= 10:
        return f"{x:,.1f}{unit}"
    return f"{x:,.2f}{unit}"


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


@dataclass
class Context:
    """What one run shares: options, a scratch folder, the baselines sampled in the run, and
    figures other benchmarks reuse (W on PostgreSQL with 2 workers is also a scaling point)."""

    folder: Path
    quick: bool
    databases: list[str]
    options: Any
    baselines: dict[str, list[float]] = field(default_factory=dict)  # every sample, in order
    baseline_notes: dict[str, str] = field(default_factory=dict)
    w_runs: dict[tuple[str, int, int], list[float]] = field(default_factory=dict)
