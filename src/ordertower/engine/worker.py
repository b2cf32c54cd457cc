"""A worker: an asyncio loop that claims due plan items, runs many at once, and records
each outcome. Any number of workers, in one process or many, share one database.

- Claims hold a lease, renewed by a heartbeat while the item runs; a dead worker's lease
  expires and any worker returns the item to ``ready`` (``expire_leases``).
- Callouts to one system are bounded by the system's concurrency limit (across workers, at
  claim time) and its rate limit (per worker process).
- Each cycle also re-checks due ``wait`` items, fails waiting items whose time-out passed,
  and, every few seconds, recomputes jeopardy.
- Idle workers wait to be woken (in-process signal; LISTEN/NOTIFY on PostgreSQL) or poll.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from datetime import timedelta
from typing import Any

import structlog

from . import recorder
from .executors import Executors
from .outcomes import Outcome

log = structlog.get_logger("ordertower.worker")


class Wakeup:
    """A thread-safe doorbell for an asyncio loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def ring(self) -> None:
        loop, event = self._loop, self._event
        if loop is None or event is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # loop closed meanwhile
            pass

    async def wait(self, timeout: float) -> None:
        assert self._event is not None
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        self._event.clear()


class RateLimiter:
    """A token bucket: at most ``rate`` starts per second, bursts up to ``rate``."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


class Worker:
    def __init__(self, store, executors: Executors, *, name: str | None = None,
                 max_in_flight: int = 200, lease_seconds: float = 30.0, poll_seconds: float = 0.5,
                 wakeup: Wakeup | None = None, system_limits: dict[str, int] | None = None,
                 rate_limits: dict[str, float] | None = None, jeopardy_seconds: float = 5.0):
        self.store = store
        self.executors = executors
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.max_in_flight = max_in_flight
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.wakeup = wakeup or Wakeup()
        self.system_limits = system_limits or {}
        self.rate_limiters = {s: RateLimiter(r) for s, r in (rate_limits or {}).items()}
        self.jeopardy_seconds = jeopardy_seconds
        self._last_jeopardy = 0.0
        self._running: dict[str, asyncio.Task] = {}
        self._per_system: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self.started = False

    def stop(self) -> None:
        self._stopping.set()
        self.wakeup.ring()

    async def run(self) -> None:
        self.wakeup.bind()
        self.started = True
        heartbeat = asyncio.create_task(self._heartbeat())
        log.info("worker started", worker=self.name)
        try:
            while not self._stopping.is_set():
                claimed = await self.run_once()
                if not claimed:
                    await self.wakeup.wait(self.poll_seconds)
        finally:
            heartbeat.cancel()
            await self.drain()
            log.info("worker stopped", worker=self.name)

    async def run_once(self) -> int:
        """One cycle: housekeeping, then claim what is due and start running it."""
        try:
            await asyncio.to_thread(recorder.expire_leases, self.store)
            await asyncio.to_thread(recorder.sweep_timers, self.store)
            if time.monotonic() - self._last_jeopardy >= self.jeopardy_seconds:
                self._last_jeopardy = time.monotonic()
                await asyncio.to_thread(recorder.sweep_jeopardy, self.store)
        except Exception:  # housekeeping must never stop the worker
            log.exception("housekeeping failed", worker=self.name)
        return len(await self._claim_batch())

    async def drain(self) -> None:
        """Wait for every item this worker is running to be recorded."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def _claim_batch(self) -> list[dict[str, Any]]:
        room = self.max_in_flight - len(self._running)
        if room <= 0:
            await asyncio.sleep(0.01)
            return []
        saturated = [s for s, n in self._per_system.items() if n >= self.system_limits.get(s, 10**9)]
        try:
            rows = await asyncio.to_thread(recorder.claim, self.store, self.name, room, self.lease,
                                           saturated, self.system_limits)
        except Exception:  # database briefly unavailable: back off, never die
            log.exception("claim failed", worker=self.name)
            await asyncio.sleep(self.poll_seconds)
            return []
        for row in rows:
            system = row.get("system")
            if system:
                self._per_system[system] = self._per_system.get(system, 0) + 1
            self._running[row["id"]] = asyncio.create_task(self._execute(row))
        return rows

    async def _execute(self, item: dict[str, Any]) -> None:
        try:
            try:
                order, line, lines = await asyncio.to_thread(recorder.load_context, self.store, item)
                callback_url = None
                if item["type"] == "callout" and item["spec"].get("reply") == "async":
                    token = await asyncio.to_thread(recorder.issue_callback_token, self.store, item)
                    callback_url = self.executors.callback_url(token)
                limiter = self.rate_limiters.get(item.get("system") or "")
                if limiter is not None:
                    await limiter.acquire()
                outcome = await self.executors.run(item, order, line, lines, callback_url)
            except Exception as exc:  # an executor bug must not lose the item
                log.exception("item execution failed", item=item["id"])
                outcome = Outcome(ok=False, retryable=True, error=f"internal error: {exc!r}")
            for delay in (0.1, 0.5, 1, 2, 5):
                try:
                    state = await asyncio.to_thread(recorder.record, self.store, self.name, item, outcome)
                    log.info("item recorded", item=item["key"], order=item["order_id"], state=state)
                    break
                except Exception:
                    log.exception("recording failed; retrying", item=item["id"])
                    await asyncio.sleep(delay)
            # if it still failed, the lease expires and another attempt runs (same idempotency key)
        finally:
            self._running.pop(item["id"], None)
            system = item.get("system")
            if system:
                self._per_system[system] -= 1
            self.wakeup.ring()

    async def _heartbeat(self) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            ids = list(self._running)
            if ids:
                try:
                    await asyncio.to_thread(recorder.renew_leases, self.store, self.name, ids, self.lease)
                except Exception:
                    log.exception("lease renewal failed", worker=self.name)
