"""``serve``'s workers as child processes: the API never shares a process, an event loop, a
thread pool or a GIL with the engine.

``serve`` starts N ``ordertower worker --supervised`` children (the same command an operator
runs for scale-out, so there is one worker code path), each with the settings of serve: its
database, catalog, lease and grace period, log format and level, and serve's public URL (so
its callouts reach the simulators and callbacks reach serve). Their log lines go to serve's
standard output and error.

- **Wake-up.** Each child's standard input is a pipe from serve, its doorbell: whenever serve
  commits new ready work (an order placed, a callback recorded), it writes one byte to every
  child, which wakes its idle worker at once (on PostgreSQL LISTEN/NOTIFY does the same,
  also for work released by other processes; on SQLite the pipe is the only signal, beside
  the worker's poll). The end of that input means serve is gone (even killed with SIGKILL):
  the child then shuts down gracefully, as on SIGTERM, so no worker outlives its serve.
- **Priority.** The children run at niceness 10 (``worker --nice 10``): when the CPU is
  busy, the API (and a database on the same machine) gets it first.
- **Liveness.** A child that exits while serve is not shutting down is logged (its exit
  code) and started again after a delay (1 s; doubling while a restarted child keeps dying
  within 10 s of its start, at most 30 s). ``/health`` reports ``workers`` (children alive
  whose worker has started: each writes a byte on a pipe of its own, ``STARTED_FD``, once its
  worker loop runs) and ``workers_ok`` (all of them), so ``/health/ready`` sends no traffic
  to a serve whose children are still importing and wiring (seconds of CPU on 2 cores).
- **Shutdown.** On SIGTERM serve forwards SIGTERM to every child at once (they stop
  claiming and give their running items the grace period, as a ``worker`` process does),
  and at the end of its own shutdown waits for them; one still running after the grace
  period and a margin is killed. A second signal to serve exits at once and forwards a
  second SIGTERM, which makes the children exit at once too.

- **Metrics.** The children count their claims, records and callouts in files of a folder
  of serve's own (prometheus-client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR`` in
  their environment only); serve's ``/metrics`` adds them up beside its own, so a scrape of
  serve shows the whole engine, across restarts of a child. The folder goes when serve stops.

The children are started in a process group of their own, so a Ctrl-C at a terminal reaches
serve only, and serve alone decides when and how they stop. They stay in serve's session: with
the kernel's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``, on by default
in most distributions), each session shares the CPU equally with every other whatever the
niceness of its processes, so children in sessions of their own would each get as much CPU as
serve's API, and their niceness would count for nothing. (It did: intake on PostgreSQL waited
p50 1 s behind the workers, 20 ms once they shared serve's session.)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger("ordertower")

RESTART_DELAY_S = 1.0
RESTART_DELAY_MAX_S = 30.0
DIED_YOUNG_S = 10.0  # a child that dies sooner than this after its start doubles the delay
CHECK_EVERY_S = 0.5
KILL_MARGIN_S = 5.0  # beyond the grace period, before a child still running is killed
# the children's CPU priority (Unix niceness): the API gets the CPU first, the engine what is
# left (issue 11: orders placed while the workers are busy wait behind them)
WORKER_NICENESS = 10
# the environment variable naming the descriptor a child writes a byte to once its worker runs
STARTED_FD = "ORDERTOWER_STARTED_FD"


@dataclass
class _Slot:
    number: int
    process: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    delay: float = RESTART_DELAY_S
    start_after: float = 0.0
    pids: list[int] = field(default_factory=list)
    running: bool = False  # the child said its worker has started (STARTED_FD)


class WorkerProcesses:
    """N ``ordertower worker`` children of serve, kept running until serve shuts down."""

    def __init__(self, count: int, command: list[str], env: dict[str, str] | None = None, *,
                 grace_seconds: float = 30.0):
        self.count = count
        self.command = command
        # the children's counters, in files serve's /metrics adds up (multiprocess mode)
        self.metrics_dir = tempfile.mkdtemp(prefix="ordertower-metrics-")
        self.env = dict(os.environ if env is None else env, PROMETHEUS_MULTIPROC_DIR=self.metrics_dir)
        self.grace_seconds = grace_seconds
        self._slots = [_Slot(n) for n in range(count)]
        self._lock = threading.Lock()
        self._stopping = False
        self._task: asyncio.Task | None = None

    # --- what /health and tests see ------------------------------------------------------

    def running(self) -> int:
        """Children alive whose worker has started (a child is ready once its worker loop
        runs: importing and wiring take seconds of CPU, which placements would wait behind)."""
        return sum(1 for s in self._slots
                   if s.running and s.process is not None and s.process.poll() is None)

    def all_running(self) -> bool:
        return self.running() == self.count

    def pids(self) -> list[int]:
        return [s.process.pid for s in self._slots
                if s.process is not None and s.process.poll() is None]

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        for slot in self._slots:
            self._spawn(slot)
        self._task = asyncio.create_task(self._supervise(), name="worker-processes")

    def _spawn(self, slot: _Slot) -> None:
        # a pipe of its own: the child writes a byte to it once its worker has started
        started_r, started_w = os.pipe()
        try:
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE,
                                       env=self.env | {STARTED_FD: str(started_w)},
                                       pass_fds=(started_w,), process_group=0)
        finally:
            os.close(started_w)
        os.set_blocking(process.stdin.fileno(), False)  # a full pipe is a pending wake-up
        with self._lock:
            slot.process, slot.started, slot.running = process, time.monotonic(), False
        loop = asyncio.get_running_loop()
        loop.add_reader(started_r, self._started, loop, slot, process, started_r)
        slot.pids.append(process.pid)
        log.info("worker process started", worker_process=slot.number, pid=process.pid,
                 restarts=slot.restarts)

    def _started(self, loop: asyncio.AbstractEventLoop, slot: _Slot, process: subprocess.Popen,
                 fd: int) -> None:
        """The child wrote on its started pipe (its worker runs), or closed it (it died)."""
        loop.remove_reader(fd)
        try:
            said = os.read(fd, 1)
        except OSError:
            said = b""
        os.close(fd)
        if said and slot.process is process:
            slot.running = True

    async def _supervise(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            for slot in self._slots:
                process = slot.process
                if self._stopping or process is None:
                    continue
                code = process.poll()
                if code is None:
                    continue
                if slot.start_after == 0.0:  # just found dead: say so, schedule its restart
                    lived = now - slot.started
                    died_young_again = lived < DIED_YOUNG_S and slot.restarts > 0
                    slot.delay = (min(slot.delay * 2, RESTART_DELAY_MAX_S) if died_young_again
                                  else RESTART_DELAY_S)
                    slot.start_after = now + slot.delay
                    log.error("worker process exited; restarting it", worker_process=slot.number,
                              pid=process.pid, exit_code=code, lived_s=round(lived, 1),
                              restart_in_s=slot.delay)
                elif now >= slot.start_after:
                    slot.start_after = 0.0
                    slot.restarts += 1
                    _close_quietly(process)
                    self._spawn(slot)
            await asyncio.sleep(CHECK_EVERY_S)

    def ring(self) -> None:
        """New work is ready: wake every child (thread-safe, never blocks)."""
        with self._lock:
            processes = [s.process for s in self._slots if s.process is not None]
        for process in processes:
            try:
                os.write(process.stdin.fileno(), b"\x01")
            except (BlockingIOError, BrokenPipeError, ValueError, OSError):
                pass  # full: a wake-up is already pending; closed: the child is gone

    def terminate(self) -> None:
        """Serve is shutting down: every child stops claiming now (SIGTERM). Idempotent;
        safe in a signal handler."""
        self._stopping = True
        self._signal_all(signal.SIGTERM)

    def exit_now(self) -> None:
        """Serve's second signal: a second SIGTERM makes every child exit at once."""
        self._stopping = True
        self._signal_all(signal.SIGTERM)

    def _signal_all(self, sig: int) -> None:
        for slot in self._slots:
            process = slot.process
            if process is not None and process.poll() is None:
                try:
                    process.send_signal(sig)
                except ProcessLookupError:
                    pass

    async def stop(self) -> None:
        """Stop every child (SIGTERM if not done yet) and wait for it: at most the grace
        period and a margin, then it is killed (its leases expire; its items run again)."""
        if not self._stopping:
            self.terminate()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        deadline = time.monotonic() + self.grace_seconds + KILL_MARGIN_S
        for slot in self._slots:
            process = slot.process
            if process is None:
                continue
            while process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if process.poll() is None:
                log.warning("worker process still running after the grace period; killing it",
                            worker_process=slot.number, pid=process.pid)
                process.kill()
                await asyncio.to_thread(process.wait)
            _close_quietly(process)
            log.info("worker process stopped", worker_process=slot.number, pid=process.pid,
                     exit_code=process.returncode)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def _close_quietly(process: subprocess.Popen) -> None:
    try:
        if process.stdin is not None:
            process.stdin.close()
    except OSError:
        pass


def worker_command(*, catalog_path: str | None, lease_seconds: float, grace_seconds: float,
                   log_format: str | None, log_level: str) -> list[str]:
    """The command line of one child: ``ordertower worker`` with serve's settings (the
    database URL goes in the environment: a password has no place in the process list)."""
    command = [sys.executable, "-m", "ordertower.entrypoints.cli", "worker", "--supervised",
               "--no-migrate",  # serve brought the schema to head before starting them
               "--lease-seconds", repr(lease_seconds), "--grace-seconds", repr(grace_seconds),
               "--log-level", log_level, "--nice", str(WORKER_NICENESS)]
    if catalog_path:
        command += ["--catalog", catalog_path]
    if log_format:
        command += ["--log-format", log_format]
    return command


def worker_environment(database_url: str, public_url: str) -> dict[str, str]:
    """serve's environment, its database and its public URL: the children call the
    simulators and give callback addresses under it, as an in-process worker would."""
    return dict(os.environ, ORDERTOWER_DATABASE_URL=database_url, ORDERTOWER_PUBLIC_URL=public_url)
