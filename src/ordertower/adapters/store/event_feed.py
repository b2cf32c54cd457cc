"""Reading the outbox (the ``events`` table) in order, without ever skipping an event.

``events.id`` is given out when a row is inserted, not when its transaction commits. On
SQLite that is the same order (one writer at a time, ``BEGIN IMMEDIATE``), so every id up to
the highest visible one is final. On PostgreSQL two transactions can commit out of id order:
a reader that saw id 11 and moved on could miss id 10 committing a moment later. So readers
never read past the **horizon**: the highest id such that every id up to it is final
(committed, or never to be: a rolled-back insert leaves a hole in the sequence).

The horizon moves over the run of consecutive visible ids. At a hole it waits until every
transaction that was running when the hole was first seen has ended (``pg_xact_status`` of
the snapshot's in-progress ids) and a short grace has passed; then the hole is final
(a rollback, or ids lost in a crash) and the horizon steps over it. One ``EventFeed`` per
database and process, shared by every SSE stream and the dispatcher.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .statements import index_scans_only
from .tables import events, orders

_WALK = 5000  # ids read per step while walking the horizon forward


@dataclass
class _Hole:
    after: int  # the last id before the hole
    upto: int  # the last id of the hole (the next visible id - 1)
    in_progress: list[int]  # transactions running when it was first seen
    seen_at: float  # time.monotonic()


class EventFeed:
    def __init__(self, engine: Engine, *, hole_grace_seconds: float = 0.5):
        self.engine = engine
        self.hole_grace_seconds = hole_grace_seconds
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._horizon = 0
        self._hole: _Hole | None = None
        self._start: _Hole | None = None
        self._started = False
        self._checked_at = float("-inf")

    # --- the horizon ------------------------------------------------------------------------

    def horizon(self, max_age: float = 0.0) -> int:
        """Every event with an id up to this one is committed (or never will be). Computed at
        most once per ``max_age`` seconds, however many readers ask (thread-safe)."""
        with self._lock:
            if time.monotonic() - self._checked_at >= max_age:
                self._advance()
                self._checked_at = time.monotonic()
            return self._horizon

    def now(self, patience_seconds: float = 5.0) -> int:
        """Where a reader that wants what comes from now on starts: the horizon, once the feed
        knows it (a process's first look waits for what was running when it started)."""
        deadline = time.monotonic() + patience_seconds
        while True:
            horizon = self.horizon()
            if self._sqlite or (self._started and self._start is None) or time.monotonic() > deadline:
                return horizon
            time.sleep(0.05)

    def _advance(self) -> None:
        with self.engine.connect() as conn:
            if self._sqlite:
                conn = conn.execution_options(readonly=True)
                with conn.begin():
                    top = conn.execute(sa.select(sa.func.coalesce(sa.func.max(events.c.id), 0))).scalar_one()
                self._horizon = max(self._horizon, top)
                return
            with conn.begin():
                # the walk reads the ids past the horizon in order and stops at _WALK: an
                # index scan of the key, never a bitmap scan and a sort of all of them
                index_scans_only(conn, sequential_too=True)
                if not self._started:
                    # at start: what is visible now is final once what runs now has ended
                    snap, top = conn.execute(sa.text(
                        "SELECT pg_current_snapshot()::text, (SELECT coalesce(max(id), 0) FROM events)")).one()
                    self._started = True
                    self._start = _Hole(0, top, _in_progress(snap), time.monotonic())
                if self._start is not None:
                    if not self._is_final(conn, self._start):
                        return
                    self._horizon, self._start = max(self._horizon, self._start.upto), None
                for _ in range(20):
                    snap, ids = conn.execute(sa.text(
                        "SELECT pg_current_snapshot()::text, ARRAY(SELECT id FROM events WHERE id > :h "
                        "ORDER BY id LIMIT :n)"), {"h": self._horizon, "n": _WALK}).one()
                    ids = list(ids or [])
                    run = self._horizon
                    for i in ids:
                        if i != run + 1:
                            break
                        run = i
                    self._horizon = run
                    if self._hole is not None and self._hole.upto <= run:
                        self._hole = None  # filled in
                    beyond = next((i for i in ids if i > run), None)
                    if beyond is None:
                        if len(ids) < _WALK:
                            return
                        continue
                    if self._hole is None or self._hole.after != run:
                        self._hole = _Hole(run, beyond - 1, _in_progress(snap), time.monotonic())
                    if not self._is_final(conn, self._hole):
                        return
                    self._horizon, self._hole = self._hole.upto, None

    def _is_final(self, conn, hole: _Hole) -> bool:
        if time.monotonic() - hole.seen_at < self.hole_grace_seconds:
            return False
        if hole.in_progress:
            running = conn.execute(sa.text(
                "SELECT count(*) FROM unnest(CAST(:xids AS xid8[])) AS x "
                "WHERE pg_xact_status(x) = 'in progress'"),
                {"xids": [str(x) for x in hole.in_progress]}).scalar_one()
            if running:
                return False
            hole.in_progress = []
        return True

    # --- reading --------------------------------------------------------------------------

    def read(self, after: int, upto: int, *, types: Iterable[str] | None = None,
             order_id: str | Iterable[str] | None = None, customer: str | None = None,
             limit: int = 200) -> list[dict[str, Any]]:
        """Events with ``after < id <= upto`` (pass the horizon as ``upto``), oldest first."""
        if upto <= after:
            return []
        q = sa.select(events).where(events.c.id > after, events.c.id <= upto)
        if types is not None:
            q = q.where(events.c.type.in_(list(types)))
        if isinstance(order_id, str):
            q = q.where(events.c.order_id == order_id)
        elif order_id is not None:
            q = q.where(events.c.order_id.in_(list(order_id)))
        if customer is not None:
            q = q.where(events.c.order_id.in_(
                sa.select(orders.c.id).where(orders.c.customer_id == customer)))
        q = q.order_by(events.c.id).limit(limit)
        with self.engine.connect() as conn:
            if self._sqlite:
                conn = conn.execution_options(readonly=True)
            with conn.begin():
                return [dict(r) for r in conn.execute(q).mappings().all()]

    def first_of_order(self, order_id: str) -> int:
        """The id before the order's first event (to replay an order from its start)."""
        with self.engine.connect() as conn:
            if self._sqlite:
                conn = conn.execution_options(readonly=True)
            with conn.begin():
                first = conn.execute(sa.select(sa.func.min(events.c.id))
                                     .where(events.c.order_id == order_id)).scalar_one()
        return (first - 1) if first else 0


def _in_progress(snapshot: str) -> list[int]:
    """The in-progress transaction ids of a ``pg_snapshot`` text (``xmin:xmax:xip,...``)."""
    xip = snapshot.split(":")[2] if snapshot.count(":") >= 2 else ""
    return [int(x) for x in xip.split(",") if x]


_feeds: "weakref.WeakKeyDictionary[Any, EventFeed]" = weakref.WeakKeyDictionary()
_feeds_lock = threading.Lock()


def feed_of(store) -> EventFeed:
    """The one feed of this store in this process."""
    with _feeds_lock:
        feed = _feeds.get(store)
        if feed is None:
            feed = _feeds[store] = EventFeed(store.engine)
        return feed
