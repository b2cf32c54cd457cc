"""Running ``serve`` and ``worker`` as processes: signals, graceful shutdown, exit codes.

SIGTERM (or SIGINT): stop claiming work at once; items already running get the grace period
to finish and be recorded; what is still running then is released unrun (its attempt is not
charged) and the process exits 0. A second SIGTERM or SIGINT exits at once (exit 1): the
leases of whatever still runs expire and other workers take the items over.

``serve``'s workers are child processes (``worker_processes.py``): serve forwards both
signals to them. A ``worker --supervised`` child also shuts down gracefully when its
standard input ends (serve is gone), and takes each byte on it as a wake-up.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
from types import FrameType

import structlog
import uvicorn

from ..bootstrap import Container
from ..logs import flush_logging
from .worker_processes import STARTED_FD, WorkerProcesses

log = structlog.get_logger("ordertower")
FORCED_EXIT = 1


def _exit_now(sig: int, children: WorkerProcesses | None = None) -> None:
    log.warning("second signal: exiting at once", signal=signal.Signals(sig).name)
    if children is not None:
        children.exit_now()
    flush_logging()
    os._exit(FORCED_EXIT)


class GracefulServer(uvicorn.Server):
    """uvicorn, told to stop the workers' claiming the moment a signal arrives (not after
    it has closed its connections), and to exit 0 after a graceful shutdown."""

    def __init__(self, config: uvicorn.Config, container: Container,
                 children: WorkerProcesses | None = None):
        super().__init__(config)
        self.container = container
        self.children = children

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            _exit_now(sig, self.children)
        log.info("shutting down", signal=signal.Signals(sig).name,
                 grace_seconds=self.container.settings.grace_seconds)
        self.container.begin_shutdown()
        if self.children is not None:
            self.children.terminate()
        # not uvicorn's default: it re-raises the signal after shutdown (exit 143, not 0)
        self.should_exit = True


def run_server(app, container: Container, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                            timeout_graceful_shutdown=max(int(container.settings.grace_seconds), 1),
                            lifespan="on")
    server = GracefulServer(config, container, getattr(app.state, "worker_processes", None))
    freeze_startup_heap()
    server.run()
    if server.should_exit and server.started:
        _end_process(container)  # shut down gracefully: nothing is left to do


def _end_process(container: Container) -> None:
    """Exit 0 at once once everything is recorded and stopped: the interpreter's own teardown
    (every module and object of a large process) took 4 to 5 s on a busy 2-core machine,
    time an orchestrator counts against the grace period."""
    container.store.engine.dispose()
    flush_logging()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def freeze_startup_heap() -> None:
    """What start-up built (modules, the catalog, the app, the engine) lives as long as the
    process: it is put out of the garbage collector's sight (``gc.freeze``), so a full
    collection scans only what came after. Before, the first full collection under load, about
    2 s in, scanned it all and stalled every request in flight for 60 to 110 ms (issue 11:
    the intake's p99)."""
    gc.collect()
    gc.freeze()


def ignore_terminal_stops() -> None:
    """serve's child is in serve's session but a background process group: its log lines go
    to serve's output, which may be a terminal set to stop background writers (``stty
    tostop``); with SIGTTOU ignored, the terminal lets the write through."""
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)


def run_worker(container: Container, *, supervised: bool = False) -> None:
    async def main() -> None:
        await container.start_workers(1)
        freeze_startup_heap()
        if supervised:
            _say_started()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: int) -> None:
            if stop.is_set():
                _exit_now(sig)
            log.info("shutting down", signal=signal.Signals(sig).name,
                     grace_seconds=container.settings.grace_seconds)
            container.begin_shutdown()
            stop.set()

        def on_parent_gone() -> None:
            if not stop.is_set():
                log.warning("serve is gone; shutting down",
                            grace_seconds=container.settings.grace_seconds)
                container.begin_shutdown()
                stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        if supervised:
            _read_doorbell(container, lambda: loop.call_soon_threadsafe(on_parent_gone))
        await stop.wait()
        await container.stop()
        if supervised:  # serve waits for this process: end it as soon as the work is recorded
            _end_process(container)

    asyncio.run(main())


def _say_started() -> None:
    """Tell serve this child's worker runs: a byte on the descriptor serve passed
    (worker_processes.STARTED_FD), then closed."""
    fd = os.environ.get(STARTED_FD)
    if not fd:
        return
    try:
        os.write(int(fd), b"1")
        os.close(int(fd))
    except (OSError, ValueError):
        pass  # serve is gone or passed nothing usable: the end of stdin says the rest


def _read_doorbell(container: Container, on_end) -> None:
    """A supervised worker's standard input: each byte from serve wakes the worker; its end
    (serve exited, however) stops the worker gracefully."""
    fd = sys.stdin.fileno()

    def read() -> None:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                on_end()
                return
            container.wakeup.ring()

    threading.Thread(target=read, name="serve-doorbell", daemon=True).start()
