"""Running ``serve`` and ``worker`` as processes: signals, graceful shutdown, exit codes.

SIGTERM (or SIGINT): stop claiming work at once; items already running get the grace period
to finish and be recorded; what is still running then is released unrun (its attempt is not
charged) and the process exits 0. A second SIGTERM or SIGINT exits at once (exit 1): the
leases of whatever still runs expire and other workers take the items over.
"""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType

import structlog
import uvicorn

from ..bootstrap import Container
from ..logs import flush_logging

log = structlog.get_logger("ordertower")
FORCED_EXIT = 1


def _exit_now(sig: int) -> None:
    log.warning("second signal: exiting at once", signal=signal.Signals(sig).name)
    flush_logging()
    os._exit(FORCED_EXIT)


class GracefulServer(uvicorn.Server):
    """uvicorn, told to stop the workers' claiming the moment a signal arrives (not after
    it has closed its connections), and to exit 0 after a graceful shutdown."""

    def __init__(self, config: uvicorn.Config, container: Container):
        super().__init__(config)
        self.container = container

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            _exit_now(sig)
        log.info("shutting down", signal=signal.Signals(sig).name,
                 grace_seconds=self.container.settings.grace_seconds)
        self.container.begin_shutdown()
        # not uvicorn's default: it re-raises the signal after shutdown (exit 143, not 0)
        self.should_exit = True


def run_server(app, container: Container, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False,
                            timeout_graceful_shutdown=max(int(container.settings.grace_seconds), 1),
                            lifespan="on")
    GracefulServer(config, container).run()


def run_worker(container: Container) -> None:
    async def main() -> None:
        await container.start_workers(1)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(sig: int) -> None:
            if stop.is_set():
                _exit_now(sig)
            log.info("shutting down", signal=signal.Signals(sig).name,
                     grace_seconds=container.settings.grace_seconds)
            container.begin_shutdown()
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        await stop.wait()
        await container.stop()

    asyncio.run(main())
