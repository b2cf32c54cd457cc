"""The dispatcher: delivers the outbox (``events``) to TMF hub listeners, at least once and in
order, from any number of processes.

Each listener has a cursor (the last event id it was given, or that does not concern it).
A dispatcher claims due listeners with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), as workers claim plan items, then for each one reads the
events after its cursor up to the feed's horizon (every id up to it is committed: nothing is
skipped) and POSTs them one after the other, moving the cursor after each 2xx while it still
holds the lease. So one listener is served by one dispatcher at a time, in event id order,
hence in order per order; different listeners are served concurrently.

A failure (another status, a time-out, a refused connection) stops that listener's run: its
cursor stays, it is retried after an exponential back-off, and after ``failing_after_attempts``
failures in a row (or ``failing_after_seconds`` of them) it is marked ``failing``: still
retried at the longest back-off, its backlog kept, shown by ``GET hub/{id}``. The first
2xx makes it ``active`` again. A dispatcher that dies stops renewing its leases; they
expire and another dispatcher carries on from the cursors. What was POSTed but not yet
recorded is POSTed again (at least once: listeners deduplicate by ``eventId``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any, Callable

import structlog

from .ports import EventDelivery, EventFeed, Store
from ..domain.notifications import HubFilter, is_failing, kinds_for, retry_delay

log = structlog.get_logger("ordertower.dispatcher")

Render = Callable[[Any, list[dict[str, Any]]], list[tuple[dict[str, Any], Any, dict[str, Any] | None]]]


class Dispatcher:
    def __init__(self, store: Store, feed: EventFeed, delivery: EventDelivery, render: Render, *,
                 name: str | None = None, poll_seconds: float = 0.25, lease_seconds: float = 30.0,
                 batch: int = 100, concurrency: int = 16, retry_base_seconds: float = 1.0,
                 retry_max_seconds: float = 300.0, failing_after_attempts: int = 0,
                 failing_after_seconds: float = 86400.0):
        self.store = store
        self.feed = feed
        self.delivery = delivery
        self.render = render
        self.name = name or f"dispatcher-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch
        self.concurrency = concurrency
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self.failing_after_attempts = failing_after_attempts
        self.failing_after_seconds = failing_after_seconds
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._serving: dict[str, asyncio.Task] = {}
        self.cycles = 0  # claim cycles run (for tests and debugging)

    # --- running --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop at once (thread-safe): no new claim; deliveries in flight are cut short and
        their listeners released (what was cut short goes again, from the cursor)."""
        self._stop.set()
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # pragma: no cover - the loop closed meanwhile
                pass

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        log.info("dispatcher started", dispatcher=self.name)
        try:
            while not self._stop.is_set():
                try:
                    await self.run_once()
                    self.cycles += 1
                except Exception as exc:  # the database restarting: try again next cycle
                    log.warning("dispatcher cycle failed", dispatcher=self.name, error=repr(exc))
                try:
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
        finally:
            await self._shut_down()
            log.info("dispatcher stopped", dispatcher=self.name)

    async def run_once(self) -> int:
        """Claim the listeners that have events to hear (as many as there is room for) and
        start serving each."""
        room = self.concurrency - len(self._serving)
        if room <= 0 or self._stop.is_set():
            return 0
        horizon = await asyncio.to_thread(self.feed.horizon, self.poll_seconds / 2)
        rows = await asyncio.to_thread(self._claim, room, horizon, list(self._serving))
        for row in rows:
            task = asyncio.create_task(self._serve(row), name=f"deliver-{row['id']}")
            self._serving[row["id"]] = task
            task.add_done_callback(lambda _t, sub_id=row["id"]: self._serving.pop(sub_id, None))
        return len(rows)

    async def _shut_down(self) -> None:
        tasks = list(self._serving.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.to_thread(self._release_all)
        except Exception as exc:  # pragma: no cover - the database is gone: the leases expire
            log.warning("could not release listeners; their leases will expire",
                        dispatcher=self.name, error=repr(exc))

    # --- serving one listener -------------------------------------------------------------

    async def _serve(self, row: dict[str, Any]) -> None:
        sub_id = row["id"]
        where = {"dispatcher": self.name, "hub": sub_id}
        hub_filter = HubFilter.from_dict(row["filter"])
        kinds = kinds_for(row["api"], hub_filter.event_types)
        cursor = row["last_event_id"]
        lease_until = row["lease_until"]
        failures, failing_since = row["failures"], row["failing_since"]
        holding = True
        try:
            while not self._stop.is_set():
                upto = await asyncio.to_thread(self.feed.horizon, self.poll_seconds / 2)
                rows = await asyncio.to_thread(self.feed.read, cursor, upto, types=kinds,
                                               order_id=hub_filter.order_ids, limit=self.batch)
                if not rows:
                    if upto > cursor:
                        holding = await asyncio.to_thread(self._passed, sub_id, upto)
                    return
                for event, mapping, body in await asyncio.to_thread(self.render, self.store, rows):
                    if self._stop.is_set():
                        return
                    if body is None or not hub_filter.selects(mapping, event["order_id"], event["payload"]):
                        continue  # not for this listener: the cursor passes it with the next move
                    lease_until = await asyncio.to_thread(self._keep_lease, sub_id, lease_until)
                    if lease_until is None:
                        holding = False
                        return
                    result = await self.delivery.post(row["callback"], body)
                    if not result.ok:
                        failures += 1
                        failing_since = failing_since or self.store.clock.now()
                        await asyncio.to_thread(self._failed, row, failures, failing_since,
                                                result.error or "failed")
                        holding = False
                        return
                    lease_until = await asyncio.to_thread(self._delivered, sub_id, event["id"])
                    if lease_until is None:  # unregistered, or the lease was lost
                        holding = False
                        return
                    cursor, failures, failing_since = event["id"], 0, None
                end = rows[-1]["id"] if len(rows) == self.batch else upto
                if end > cursor:
                    holding = await asyncio.to_thread(self._passed, sub_id, end)
                    if not holding:
                        return
                    cursor = end
        except Exception as exc:  # ours (rendering, the database): backed off like a failure
            log.warning("delivery run failed", error=repr(exc), **where)
            if holding:
                try:
                    await asyncio.to_thread(self._failed, row, failures + 1,
                                            failing_since or self.store.clock.now(),
                                            f"ordertower could not deliver: {exc!r}")
                    holding = False
                except Exception:  # pragma: no cover - the database is gone: the lease expires
                    pass
        finally:
            if holding and not self._stop.is_set():
                try:
                    await asyncio.to_thread(self._release, sub_id)
                except Exception as exc:  # pragma: no cover - its lease expires
                    log.warning("could not release a listener", error=repr(exc), **where)

    # --- the store (called in threads) -----------------------------------------------------

    def _claim(self, limit: int, horizon: int, serving: list[str]) -> list[dict[str, Any]]:
        if horizon <= 0:
            return []
        with self.store.read() as uow:
            if not uow.subscriptions.any_due(uow.clock.now(), horizon):
                return []
        with self.store.uow() as uow:
            now = uow.clock.now()
            rows = uow.subscriptions.claim(
                self.name, limit, now, now + self.lease, horizon, exclude=serving)
            uow.commit()
            return rows

    def _keep_lease(self, sub_id: str, lease_until: datetime | None) -> datetime | None:
        """Before a POST: renew the lease unless it outlasts the POST's time-out comfortably."""
        now = self.store.clock.now()
        margin = timedelta(seconds=self.delivery.timeout_seconds + 2)
        if lease_until is not None and lease_until - now > margin:
            return lease_until
        with self.store.uow() as uow:
            until = now + max(self.lease, margin * 2)
            if not uow.subscriptions.renew(sub_id, self.name, until):
                return None
            uow.commit()
            return until

    def _delivered(self, sub_id: str, event_id: int) -> datetime | None:
        with self.store.uow() as uow:
            now = uow.clock.now()
            until = now + self.lease
            if not uow.subscriptions.delivered(sub_id, self.name, event_id, now, until):
                return None
            uow.commit()
            return until

    def _passed(self, sub_id: str, event_id: int) -> bool:
        with self.store.uow() as uow:
            repo = uow.subscriptions
            repo.passed(sub_id, self.name, event_id, uow.clock.now())
            held = repo.holds(sub_id, self.name)
            uow.commit()
            return held

    def _failed(self, row: dict[str, Any], failures: int, failing_since: datetime, error: str) -> None:
        with self.store.uow() as uow:
            now = uow.clock.now()
            failing = is_failing(failures, failing_since, now, self.failing_after_attempts,
                                 self.failing_after_seconds)
            delay = retry_delay(failures, self.retry_base_seconds, self.retry_max_seconds)
            uow.subscriptions.failed(
                row["id"], self.name, failures=failures, failing_since=failing_since,
                status="failing" if failing else "active", error=error, now=now,
                next_attempt_at=now + delay)
            uow.commit()
        fields = {"dispatcher": self.name, "hub": row["id"], "callback": row["callback"],
                  "failures": failures, "error": error, "retry_in_s": round(delay.total_seconds(), 2)}
        if failing and row["status"] != "failing":
            log.warning("listener failing", **fields)
        else:
            log.info("delivery failed", **fields)

    def _release(self, sub_id: str) -> None:
        with self.store.uow() as uow:
            uow.subscriptions.release(sub_id, self.name)
            uow.commit()

    def _release_all(self) -> None:
        with self.store.uow() as uow:
            uow.subscriptions.release_all(self.name)
            uow.commit()
