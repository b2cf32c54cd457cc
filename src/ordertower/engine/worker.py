"""A worker: an asyncio loop that claims due plan items, runs many at once, and records
each outcome. Any number of workers, in one process or many, share one database.

- Claims hold a lease, renewed by a heartbeat while the item runs; a dead worker's lease
  expires and any worker returns the item to ``ready`` (``expire_leases``).
- Callouts to one system are bounded by the system's concurrency limit (across workers, at
  claim time) and its rate limit (per worker process).
- Each cycle also re-checks due ``wait`` items, fails waiting items whose time-out passed,
  puts right items held or ready against their system's state (engine/holds.py), and,
  every few seconds, recomputes jeopardy.
- Idle workers wait to be woken (in-process signal; LISTEN/NOTIFY on PostgreSQL) or poll.
- A database that cannot serve now (DatabaseUnavailable: restart, lost connection, read-only
  file, disk full) never stops a worker: it backs off (exponentially, up to
  DATABASE_BACKOFF_MAX_S) and goes on; outcomes it could not record are retried for as long
  as its lease would last, then the lease expires and the item runs again under the same
  ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Awaitable, Callable

import structlog

from .. import metrics
from ..domain.errors import DatabaseUnavailable
from ..domain.lifecycle import ItemState
from . import breaker, callback_tokens, holds, item_context, jeopardy, leases, recording, service_levels, timers
from .executors import Executors
from .outcomes import Outcome
from .ports import Store

log = structlog.get_logger("ordertower.worker")


class Wakeup:
    """A thread-safe doorbell for an asyncio loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._thread: int | None = None

    def bind(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._thread = threading.get_ident()

    def ring(self) -> None:
        loop, event = self._loop, self._event
        if loop is None or event is None or loop.is_closed():
            return
        if threading.get_ident() == self._thread:  # from the loop itself: no self-pipe write
            event.set()
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
    """A token bucket: at most ``rate`` starts per second, bursts up to ``rate`` (at least one)."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.rate = rate
        self.capacity = max(rate, 1.0)  # below one start a second, the burst is still one
        self.tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self.updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1 - 1e-9:  # a token, give or take rounding
                    self.tokens = max(self.tokens - 1, 0.0)
                    return
                await self._sleep((1 - self.tokens) / self.rate)


class GroupCommit:
    """Outcomes recorded in sets: while one set is being written (in a thread), the outcomes
    that arrive wait, and are written together next, in one transaction. A lone outcome is
    written at once; under load, a set grows to what arrived during one write.

    ``budget_s``: while ``busy()`` says others wait for this process's write transactions
    (the API, on SQLite: one writer at a time), a set is cut to what can be written in about
    that long, judged from the last sets' time per outcome, so that an order placed meanwhile
    waits no longer than that for its turn (never fewer than MIN_SET outcomes). Otherwise sets
    of up to MAX_SET."""

    MAX_SET = 500
    MIN_SET = 16

    def __init__(self, write: Callable[[list[tuple[dict[str, Any], Outcome]]], list[str | None]],
                 budget_s: float | None = None, busy: Callable[[], bool] = lambda: False):
        self._write = write
        self._busy = busy
        self._waiting: list[tuple[dict[str, Any], Outcome, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self.budget_s = budget_s
        self._per_outcome_s: float | None = None  # the last sets' time per outcome (smoothed)

    def set_size(self) -> int:
        if self.budget_s is None or not self._per_outcome_s or not self._busy():
            return self.MAX_SET
        return max(self.MIN_SET, min(self.MAX_SET, int(self.budget_s / self._per_outcome_s)))

    async def record(self, item: dict[str, Any], outcome: Outcome) -> str | None:
        """The item's new state once its outcome is committed (None: the lease was lost)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, outcome, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await future

    def _timed_write(self, batch: list[tuple[dict[str, Any], Outcome]]) -> list[str | None]:
        started = time.perf_counter()
        states = self._write(batch)
        per = (time.perf_counter() - started) / len(batch)
        self._per_outcome_s = per if self._per_outcome_s is None else 0.7 * self._per_outcome_s + 0.3 * per
        return states

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                size = self.set_size()
                batch, self._waiting = self._waiting[:size], self._waiting[size:]
                try:
                    states = await asyncio.to_thread(self._timed_write, [(i, o) for i, o, _ in batch])
                except Exception as exc:  # each caller records its own outcome alone
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), state in zip(batch, states):
                    if not future.done():
                        future.set_result(state)
        finally:
            self._writer = None


# items that call no system and touch nothing outside the database: their completion is
# logged at debug (the events and the item's history hold it); any other outcome at info
QUIET_TYPES = frozenset({"milestone", "auto"})


def _recorded(worker: str, item: dict[str, Any], state: str | None, outcome: Outcome) -> None:
    """An outcome committed: counted, and logged (docs/operations.md#logs)."""
    metrics.RECORDS.labels(worker, state or "discarded").inc()
    quiet = state == ItemState.COMPLETED and item["type"] in QUIET_TYPES
    (log.debug if quiet else log.info)("item recorded", key=item["key"], state=state,
                                       outcome=outcome.attempt_outcome)


# while the API waits for the engine's write transactions (SQLite: one writer at a time), a
# set of outcomes is cut to what can be written in about this long: an order placed meanwhile
# waits for its turn no longer
BUSY_SET_BUDGET_S = 0.010
# and a claim takes this many items at most
BUSY_CLAIM_MAX = 200
# otherwise this many: a worker that finds more due claims again at once, and the other
# workers take their share meanwhile (one claim of everything left the others idle while it
# recorded its sets one after another)
CLAIM_MAX = 250
# a busy worker claims many times a second; its housekeeping (write transactions that
# mostly find nothing) runs at most this often
HOUSEKEEPING_SECONDS = 0.25
# back-off while the database cannot serve: from the poll interval, doubling, up to this
DATABASE_BACKOFF_MAX_S = 5.0


class Worker:
    def __init__(self, store: Store, executors: Executors, *, name: str | None = None,
                 max_in_flight: int = 1000, lease_seconds: float = 30.0, poll_seconds: float = 0.5,
                 wakeup: Wakeup | None = None, system_limits: dict[str, int] | None = None,
                 rate_limits: dict[str, float] | None = None, jeopardy_seconds: float = 5.0,
                 grace_seconds: float | None = None, learn_seconds: float = 60.0,
                 learn_after: int = 50):
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
        # service levels: durations learned every learn_seconds, after learn_after completions
        self.learn_seconds, self.learn_after = learn_seconds, learn_after
        self._last_learning = 0.0
        self._last_housekeeping = 0.0
        self._running: dict[str, asyncio.Task] = {}
        self._per_system: dict[str, int] = {}
        self._stop_requested = False
        self._deadline: float | None = None
        self.grace_seconds = grace_seconds
        self.started = False
        self._backoff = 0.0  # the current back-off while the database is unavailable
        self.probes = breaker.Probes(store, executors)  # circuit breakers (engine/breaker.py)
        self._outcomes = GroupCommit(lambda done: recording.record_many(self.store, self.name, done),
                                     budget_s=BUSY_SET_BUDGET_S,
                                     busy=store.writers_waiting)

    def stop(self, grace_seconds: float | None = None) -> None:
        """Stop claiming at once; the items running get ``grace_seconds`` (default: the
        worker's) to finish, then are released unrun and uncharged. Thread-safe."""
        if self._stop_requested:
            return
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        self._deadline = None if grace is None else time.monotonic() + grace
        self._stop_requested = True
        self.wakeup.ring()

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    async def run(self) -> None:
        self.wakeup.bind()
        self.started = True
        heartbeat = asyncio.create_task(self._heartbeat())
        log.info("worker started", worker=self.name)
        # work first: the first housekeeping (leases expired meanwhile, timers, holds) comes one
        # period after the first claim, not before it; the first jeopardy sweep and learning of
        # durations one period of theirs after the start (what they find was stored by the
        # last ones, and a fleet of workers started together does not sweep all at once)
        self._last_housekeeping = self._last_jeopardy = self._last_learning = time.monotonic()
        try:
            while not self._stop_requested:
                due = time.monotonic() - self._last_housekeeping >= HOUSEKEEPING_SECONDS
                claimed = await self.run_once(housekeeping=due)
                if not claimed and not self._stop_requested:
                    await self.wakeup.wait(self.poll_seconds)
        finally:
            try:
                await self.drain(self._deadline)
            finally:
                heartbeat.cancel()
                self.probes.cancel()
            log.info("worker stopped", worker=self.name)

    async def run_once(self, housekeeping: bool = True) -> int:
        """One cycle: housekeeping (leases expired, timers, holds, jeopardy, learned
        durations; at most every HOUSEKEEPING_SECONDS when busy), then claim what is due and
        start running it."""
        if not housekeeping:
            return 0 if self._stop_requested else len(await self._claim_batch())
        self._last_housekeeping = time.monotonic()
        try:
            await asyncio.to_thread(leases.expire_leases, self.store)
            await asyncio.to_thread(timers.sweep_timers, self.store)
            await asyncio.to_thread(holds.sweep_holds, self.store)
            if time.monotonic() - self._last_jeopardy >= self.jeopardy_seconds:
                self._last_jeopardy = time.monotonic()
                await asyncio.to_thread(jeopardy.sweep_jeopardy, self.store)
            if time.monotonic() - self._last_learning >= self.learn_seconds:
                self._last_learning = time.monotonic()
                await asyncio.to_thread(service_levels.learn_durations, self.store,
                                        self.learn_after)
            # --- circuit breaker hook (engine/breaker.py): probes of open systems; a trial
            # item comes back leased to this worker, to run like a claimed one
            if not self._stop_requested:
                for trial in await self.probes.run(self.name, self.lease):
                    self._start(trial)
            # --- end of the circuit breaker hook
        except DatabaseUnavailable as exc:  # the claim below backs off
            log.warning("housekeeping skipped: database unavailable", worker=self.name,
                        reason=exc.reason)
        except Exception:  # housekeeping must never stop the worker
            log.exception("housekeeping failed", worker=self.name)
        if self._stop_requested:
            return 0
        return len(await self._claim_batch())

    async def drain(self, deadline: float | None = None) -> None:
        """Wait for the items this worker runs to be recorded: all of them, or those done by
        ``deadline`` (``time.monotonic()``); the others are cancelled and released uncharged."""
        while self._running:
            tasks = list(self._running.values())
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending and deadline is not None and time.monotonic() >= deadline:
                log.warning("grace period over; releasing unfinished items", worker=self.name,
                            items=len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)

    async def _claim_batch(self) -> list[dict[str, Any]]:
        room = self.max_in_flight - len(self._running)
        if room <= 0:
            await asyncio.sleep(0.01)
            return []
        # a short claim while the API waits for its turn (SQLite's one writer)
        room = min(room, BUSY_CLAIM_MAX if self.store.writers_waiting() else CLAIM_MAX)
        saturated = [s for s, n in self._per_system.items() if n >= self.system_limits.get(s, 10**9)]
        try:
            rows = await asyncio.to_thread(leases.claim, self.store, self.name, room, self.lease,
                                           saturated, self.system_limits)
        except Exception as exc:  # database briefly unavailable: back off, never die
            self._backoff = min(max(self._backoff * 2, self.poll_seconds, 0.1), DATABASE_BACKOFF_MAX_S)
            if isinstance(exc, DatabaseUnavailable):
                log.warning("database unavailable; backing off", worker=self.name,
                            reason=exc.reason, delay_s=round(self._backoff, 2))
            else:
                log.exception("claim failed", worker=self.name, delay_s=round(self._backoff, 2))
            await asyncio.sleep(self._backoff)
            return []
        if self._backoff:
            log.info("database available again", worker=self.name)
            self._backoff = 0.0
        if rows:
            metrics.CLAIMS.labels(self.name).inc(len(rows))
        try:  # what the claimed items read, for all at once (milestones read nothing)
            contexts = await asyncio.to_thread(item_context.load_contexts, self.store,
                                               [r for r in rows if r["type"] != "milestone"])
        except Exception as exc:  # each item reads its own when it runs
            log.warning("reading the claimed items' orders failed", worker=self.name, error=repr(exc))
            contexts = {}
        for row in rows:
            self._start(row, contexts.get(row["id"]))
        return rows

    def _start(self, row: dict[str, Any], context: item_context.Context | None = None) -> None:
        """Run a claimed item (leased to this worker) in a task of its own; ``context``: its
        order and lines, if already read."""
        system = row.get("system")
        if system:
            self._per_system[system] = self._per_system.get(system, 0) + 1
        self._running[row["id"]] = asyncio.create_task(self._execute(row, context))

    async def _execute(self, item: dict[str, Any], context: item_context.Context | None = None) -> None:
        structlog.contextvars.bind_contextvars(order_id=item["order_id"], item_id=item["id"])
        try:
            try:
                outcome = await self._run_item(item, context)
            except asyncio.CancelledError:  # shutdown: the grace period is over
                await self._release(item, "released unrun: worker shut down")
                raise
            if outcome.transport_error and outcome.request is None:
                # the database failed before anything was sent: released, not charged
                await self._release(item, f"released unrun: {outcome.error}")
                return
            if self._stop_requested and outcome.transport_error:
                # a connection error while this process shuts down is likely ours (the
                # simulators or the connection pool closing): not the system's, not charged
                await self._release(item, "released: connection lost while shutting down")
                return
            await self._record(item, outcome)
        finally:
            self._running.pop(item["id"], None)
            system = item.get("system")
            if system:
                self._per_system[system] -= 1
            self.wakeup.ring()

    async def _run_item(self, item: dict[str, Any], context: item_context.Context | None) -> Outcome:
        try:
            if item["type"] == "milestone":  # reads nothing: no thread, no transaction
                return await self.executors.run(item, {}, None, [])
            if context is None:
                context = await asyncio.to_thread(item_context.load_context, self.store, item)
            order, line, lines = context
            callback_url = None
            if item["type"] == "callout" and item["spec"].reply == "async":
                token = await asyncio.to_thread(callback_tokens.issue_callback_token, self.store, item)
                callback_url = self.executors.callback_url(token)
            limiter = self.rate_limiters.get(item.get("system") or "")
            if limiter is not None:
                await limiter.acquire()
            return await self.executors.run(item, order, line, lines, callback_url)
        except DatabaseUnavailable as exc:  # before the work was sent: not the item's failure
            return Outcome.failed(f"database unavailable: {exc.reason}", retryable=True,
                                  transport_error=True)
        except Exception as exc:  # an executor bug must not lose the item
            log.exception("item execution failed")
            return Outcome.failed(f"internal error: {exc!r}", retryable=True)

    async def _record(self, item: dict[str, Any], outcome: Outcome) -> None:
        try:  # with the outcomes that arrive meanwhile, in one transaction
            state = await self._outcomes.record(item, outcome)
        except Exception as exc:  # that set failed: this outcome alone, tried again below
            log.warning("recording a set of outcomes failed; recording this one alone",
                        error=repr(exc))
        else:
            _recorded(self.name, item, state, outcome)
            return
        # tried again for as long as the lease would last (at least the old 8.6 s): a database
        # restart must not cost the outcome of work that was done
        deadline = time.monotonic() + max(self.lease.total_seconds(), 8.6)
        delay = 0.1
        while True:
            try:
                state = await asyncio.to_thread(recording.record, self.store, self.name, item, outcome)
                _recorded(self.name, item, state, outcome)
                return
            except DatabaseUnavailable as exc:
                log.warning("recording failed: database unavailable; retrying", reason=exc.reason,
                            delay_s=delay)
            except Exception:
                log.exception("recording failed; retrying")
            if time.monotonic() + delay > deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        # still failing: the lease expires and another attempt runs (same idempotency key)
        log.warning("outcome not recorded; the lease will expire and the item run again",
                    key=item["key"])

    async def _release(self, item: dict[str, Any], cause: str) -> None:
        try:
            released = await asyncio.to_thread(leases.release, self.store, self.name, item, cause)
        except DatabaseUnavailable as exc:  # the lease expires instead: the item is not lost
            log.warning("release failed: database unavailable; the lease will expire",
                        reason=exc.reason)
            return
        except Exception:  # the lease expires instead: the item is not lost
            log.exception("release failed; the lease will expire")
            return
        if released:
            metrics.RELEASES.labels(self.name).inc()
            log.info("item released", key=item["key"], cause=cause)

    async def _heartbeat(self) -> None:
        """Renew the leases every third of a lease. The renewal never waits for a lock: a row
        held right now (an amendment revising the order) is skipped and tried again a few
        times shortly after, well before its lease runs out (engine/locks.py)."""
        interval = max(self.lease.total_seconds() / 3, 0.05)
        loop = asyncio.get_running_loop()
        # a thread of its own: never queued behind item work (a recorder waiting for an order)
        thread = ThreadPoolExecutor(1, thread_name_prefix="heartbeat")
        try:
            while True:
                await asyncio.sleep(interval)
                ids = list(self._running)
                for _ in range(4):
                    if not ids:
                        break
                    try:
                        _renewed, ids = await loop.run_in_executor(
                            thread, leases.renew_leases, self.store, self.name, ids, self.lease)
                    except DatabaseUnavailable as exc:
                        log.warning("lease renewal failed: database unavailable",
                                    worker=self.name, reason=exc.reason)
                        break
                    except Exception:
                        log.exception("lease renewal failed", worker=self.name)
                        break
                    if ids:
                        await asyncio.sleep(min(interval / 10, 0.5))
        finally:
            thread.shutdown(wait=False)
