"""``ordertower serve`` runs its workers as child processes: the API never shares a process,
an event loop or a GIL with the engine, and the children run at a lower CPU priority; a
child that dies is started again; SIGTERM stops them all; ``/health`` answers at once while the engine is busy."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import signal
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from ordertower.adapters.store.database import create_db_engine
from ordertower.entrypoints.cli import default_worker_processes
from ordertower.entrypoints.worker_processes import STARTED_FD, WorkerProcesses

from ..conftest import _truncate
from ..support.processes import ORDERS, SCRIPT, ServeProcess, clean_env
from ..support.waiting import wait_until

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    """The live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.add(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _niceness(pid: int) -> int:
    """The process's niceness (field 19 of /proc/PID/stat) as its main thread has it."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _engine_counts(serve: ServeProcess) -> dict[str, float]:
    """serve's /metrics, parsed: callouts answered ok per system, claims and records in all."""
    counts: dict[str, float] = {}
    text = serve.client.get("/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ordertower_callouts_total" and sample.labels["outcome"] == "ok":
                counts[sample.labels["system"]] = counts.get(sample.labels["system"], 0) + sample.value
            elif sample.name in ("ordertower_worker_claims_total", "ordertower_worker_records_total"):
                counts[sample.name] = counts.get(sample.name, 0) + sample.value
    return counts


def _health(serve: ServeProcess) -> dict:
    return serve.client.get("/health", timeout=10).json()


def test_serve_runs_its_workers_as_child_processes_restarts_one_that_dies_and_stops_all_on_sigterm(
        tmp_path, database_url):
    # the default of each (tests/unit/test_serve_defaults.py)
    expected = default_worker_processes("postgresql" if database_url.startswith("postgresql") else "sqlite")
    serve = ServeProcess(tmp_path, database_url)
    try:
        serve.wait_ready(180)
        wait_until(lambda: len(_children(serve.popen.pid)) == expected, 60, "the worker processes")
        children = _children(serve.popen.pid)
        assert serve.popen.pid not in children
        assert all(" worker " in _cmdline(pid) for pid in children)
        # the children run at a lower CPU priority: the API answers first when the CPU is busy
        background = min(_niceness(serve.popen.pid) + 10, 19)
        wait_until(lambda: all(_niceness(pid) == background for pid in children), 60,
                   "the worker processes to lower their priority")
        # in serve's session, so the kernel weighs their niceness against the API's (a child
        # in a session of its own is an autogroup of its own, which shares the CPU equally
        # with serve's whatever its niceness); in a process group of their own, so a Ctrl-C
        # at a terminal reaches serve alone
        assert {os.getsid(pid) for pid in children} == {os.getsid(serve.popen.pid)}
        assert all(os.getpgid(pid) == pid for pid in children)
        assert _health(serve) | {"catalog_version": None, "version": None} == {
            "status": "ok", "database": "ok", "workers": expected, "workers_ok": True,
            "catalog_version": None, "version": None}

        first = serve.post_order()
        serve.wait_for_state(first["id"], "completed", timeout=120)
        # the items ran in the children: each worker's name carries its process id
        # (a child that has not yet logged its start on a busy machine is waited for)
        def started() -> set[int]:
            return {int(line["worker"].split(":")[1]) for line in serve.logged("worker started")}
        wait_until(lambda: started() >= children, 60, "every child's worker started line")
        assert started() == children
        # serve's /metrics adds up what its worker processes counted (the seed order: 7 items,
        # its callouts to the warehouse, billing and network)
        counted = wait_until(lambda: (c := _engine_counts(serve)).get("ordertower_worker_records_total", 0) >= 7
                             and c, 30, "the children's counts in serve's /metrics")
        assert counted["ordertower_worker_claims_total"] >= 7
        assert {"warehouse", "billing", "network"} <= counted.keys()

        killed = min(children)
        os.kill(killed, signal.SIGKILL)
        restarted = wait_until(lambda: [line for line in serve.logged("worker process exited; restarting it")
                                        if line["pid"] == killed], 60, "the dead worker to be noticed")
        assert restarted[0]["exit_code"] == -signal.SIGKILL
        wait_until(lambda: len(_children(serve.popen.pid)) == expected
                   and killed not in _children(serve.popen.pid) and _health(serve)["workers_ok"],
                   120, "a new worker process in its place")
        now = _children(serve.popen.pid)
        wait_until(lambda: all(_niceness(pid) == background for pid in now), 60,
                   "the new worker process to lower its priority")
        second = serve.post_order()
        serve.wait_for_state(second["id"], "completed", timeout=120)
        # the killed child's counts stay in the totals (were they lost, the totals would be
        # the second order's alone, no more than the first's)
        after = wait_until(lambda: (c := _engine_counts(serve))["ordertower_worker_records_total"]
                           > counted["ordertower_worker_records_total"] and c, 30, "the second order's counts")
        assert all(after[system] > counted[system] for system in ("warehouse", "billing", "network"))

        serve.signal(signal.SIGTERM)
        assert serve.wait(60) == 0
        wait_until(lambda: not any(_running(pid) for pid in now), 30, "every worker process to exit")
    finally:
        serve.stop()
    stopped = {line["pid"] for line in serve.logged("worker process stopped")}
    assert now <= stopped
    assert not [line for line in serve.json_lines() if line["level"] == "error"
                and line["event"] != "worker process exited; restarting it"]


def test_a_worker_process_whose_serve_was_killed_stops_by_itself(tmp_path, sqlite_url):
    serve = ServeProcess(tmp_path, sqlite_url)
    try:
        serve.wait_ready(180)
        children = wait_until(lambda: _children(serve.popen.pid), 60, "the worker process")
        serve.signal(signal.SIGKILL)
        serve.wait(30)
        wait_until(lambda: not any(_running(pid) for pid in children), 60,
                   "the orphaned worker to stop (its doorbell pipe closed)")
    finally:
        serve.stop()
    assert serve.logged("serve is gone; shutting down")


def _large_order(lines: int) -> dict:
    items = []
    for i in range(lines):
        if i % 2 == 0:
            items.append({"id": str(i + 1), "action": "add", "productOffering": {"id": "phone"},
                          "product": {"productCharacteristic": [
                              {"name": "model", "value": "Fairphone 5"}, {"name": "color", "value": "blue"}]}})
        else:
            items.append({"id": str(i + 1), "action": "add", "productOffering": {"id": "mobile-plan"},
                          "product": {"productCharacteristic": [{"name": "tier", "value": "basic"}]}})
    return {"externalId": f"large-{lines}", "relatedParty": [{"id": "large-cust", "role": "customer"}],
            "productOrderItem": items}


def _progress(url: str, order_id: str) -> tuple[int, int]:
    """(plan items of the order, those finished), read from the database, not the server."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT count(*), count(finished_at) FROM plan_items "
                                       "WHERE order_id = :o"), {"o": order_id}).one()
    finally:
        engine.dispose()
    return row[0], row[1]


def test_health_answers_every_probe_while_a_large_order_keeps_the_engine_busy(tmp_path, pg_database_url):
    # PostgreSQL only, for now: on SQLite, with a second such server on the same 2 cores, a
    # /health probe went unanswered for 10 s (CI of 2026-11-30): an open defect of the SQLite
    # probe under load (docs/operations.md, "The process model of serve"), not yet understood
    _truncate(pg_database_url)
    database_url = pg_database_url
    serve = ServeProcess(tmp_path, database_url)
    answers: list[tuple[float, str, int]] = []
    try:
        serve.wait_ready(180)
        resp = serve.client.post(ORDERS, json=_large_order(2_000), timeout=120)
        assert resp.status_code == 201, resp.text[:500]
        order_id = resp.json()["id"]
        wait_until(lambda: _progress(database_url, order_id)[0] > 2_000, 180,
                   "the large order to be planned")
        _, finished_before = _progress(database_url, order_id)
        with httpx.Client(base_url=serve.url) as probe:
            ends = time.monotonic() + 10
            while time.monotonic() < ends:
                for path in ("/health", "/health/live"):
                    started = time.monotonic()
                    answer = probe.get(path, timeout=10)
                    answers.append((time.monotonic() - started, path, answer.status_code))
                time.sleep(0.2)
        planned, finished_after = _progress(database_url, order_id)
    finally:
        serve.stop()
    assert finished_after > finished_before, "the engine was not running the order meanwhile"
    assert len(answers) >= 20  # 10 s of probes, two paths every 0.2 s at best
    assert {code for _, _, code in answers} == {200}
    # before the process model, /health answered 503 "no answer within 5 s" behind the engine;
    # how fast it answers on this machine is a figure for benchmarks/large_orders.py (goal
    # < 1 s), not for a test that must pass on a busy machine
    assert max(took for took, _, _ in answers) < 5.0, sorted(answers)[-5:]


class TerminalServe(ServeProcess):
    """serve in the foreground of a terminal of its own (a pseudo-terminal it controls, as a
    shell would start it), the terminal set to stop background writers (``stty tostop``);
    what it prints is copied to its log file."""

    def _start(self, args: list[str]) -> None:
        self._log = open(self.log_path, "w+")
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] |= termios.TOSTOP
        termios.tcsetattr(slave, termios.TCSANOW, attrs)

        def control_the_terminal() -> None:  # in the child: a new session, this its terminal
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.popen = subprocess.Popen([SCRIPT, *args], cwd=self._cwd, env=self._env or clean_env(),
                                      stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                      preexec_fn=control_the_terminal)
        os.close(slave)

        def copy() -> None:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: serve and its children are gone
                    break
                if not chunk:
                    break
                self._log.write(chunk.decode(errors="replace").replace("\r\n", "\n"))
                self._log.flush()
            os.close(master)

        threading.Thread(target=copy, daemon=True).start()


def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


def test_serve_in_a_terminal_that_stops_background_writers_still_runs_its_workers(tmp_path, sqlite_url):
    """The children are a background process group of serve's terminal (so Ctrl-C reaches
    serve alone); their log lines must not stop them where the terminal stops background
    writers (SIGTTOU)."""
    serve = TerminalServe(tmp_path, sqlite_url)
    try:
        serve.wait_ready(180)
        children = wait_until(lambda: _children(serve.popen.pid), 60, "the worker process")
        order = serve.post_order()
        serve.wait_for_state(order["id"], "completed", timeout=120)
        assert not any(_stopped(pid) for pid in children)
        assert serve.logged("item recorded")  # the children wrote to the terminal
    finally:
        serve.stop()


def test_a_worker_process_counts_only_once_its_worker_has_started():
    """serve's /health/ready waits for its children's workers to run, not only for the
    processes to exist: importing and wiring a child takes seconds of CPU, which orders
    placed meanwhile waited behind. A child says so with a byte on a pipe of its own."""
    slow_start = ("import os, sys, time\n"
                  "time.sleep(1.0)\n"  # importing and wiring
                  f"os.write(int(os.environ['{STARTED_FD}']), b'1')\n"
                  "sys.stdin.read()\n")  # then runs until serve is gone

    async def scenario() -> tuple[int, int]:
        children = WorkerProcesses(1, [sys.executable, "-c", slow_start], grace_seconds=1)
        await children.start()
        try:
            before = children.running()
            deadline = time.monotonic() + 30
            while children.running() == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return before, children.running()
        finally:
            await children.stop()

    before, after = asyncio.run(scenario())
    assert (before, after) == (0, 1)
