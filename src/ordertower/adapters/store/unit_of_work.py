"""Unit of work: one database transaction, with the repositories that act inside it.

Everything a use case or a worker changes (state, events, unblocked work) is written through
one unit of work and commits together, or not at all.

A transaction that loses a race is run again: ``@retrying`` (or ``Store.run``) re-runs the
whole use case, each try in a fresh unit of work, when it failed with a PostgreSQL deadlock
(40P01), serialization failure (40001) or lock not available (55P03), a busy SQLite ("database
is locked"), or a ConcurrentChange (a compare-and-set that found the row changed). A few tries
with jittered exponential back-off; then ConcurrentChange (a 409 problem, never a 500). The
decorated function must be a whole use case: it opens its own units of work and may be run
again from the start (what it committed before failing must be safe to find done).
"""

from __future__ import annotations

import functools
import random
import time
from typing import Any, Callable, TypeVar

import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from ...engine.clock import Clock
from ...engine.transitions import ConcurrentChange
from .inventory import InventoryRepository
from .orchestration import ChangeRepository, OrchestrationRepository
from .repositories import AssetRepository, EventRepository, OrderRepository, PlanRepository


class SqlUnitOfWork:
    def __init__(self, engine: Engine, clock: Clock, readonly: bool = False,
                 on_commit: Callable[[], None] | None = None):
        self.engine = engine
        self.clock = clock
        self.readonly = readonly
        self._on_commit = on_commit
        self.conn: Connection | None = None
        self.work_released = False  # set when new items became ready (wakes workers)

    def __enter__(self) -> "SqlUnitOfWork":
        conn = self.engine.connect()
        if self.readonly:
            conn = conn.execution_options(readonly=True)
        self.conn = conn
        self._tx = conn.begin()
        self.orders = OrderRepository(conn)
        self.events = EventRepository(conn)
        self.plan = PlanRepository(conn, self)
        self.assets = AssetRepository(conn)
        self.inventory = InventoryRepository(conn)
        self.orchestration = OrchestrationRepository(conn)
        self.changes = ChangeRepository(conn)
        return self

    def commit(self) -> None:
        self._tx.commit()
        if self.work_released and self._on_commit:
            self._on_commit()
        self.work_released = False

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, *exc) -> None:
        self.rollback()
        assert self.conn is not None
        self.conn.close()


class Store:
    """The database: hands out units of work, and tells listeners when work was released."""

    def __init__(self, engine: Engine, clock: Clock):
        self.engine = engine
        self.clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_work_released(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _released(self) -> None:
        for listener in list(self._listeners):
            listener()

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, on_commit=self._released)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, a whole use case opening its own units of work, run
        again when its transaction loses a race (see ``retrying``)."""
        return retrying(fn)(*args, **kwargs)

    def read(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=True)


# --- running a use case again when its transaction loses a race ------------------------------

T = TypeVar("T")
log = structlog.get_logger("ordertower.store")
TRIES = 5
BASE_DELAY_S = 0.02  # back-off before try n: uniform(0, min(MAX, BASE * 2**n)) ("full jitter")
MAX_DELAY_S = 0.5
RETRYABLE_SQLSTATES = {"40P01": "deadlock detected", "40001": "serialization failure",
                       "55P03": "lock not available"}
_jitter = random.Random()


class TransactionConflict(ConcurrentChange):
    """A use case kept losing races with concurrent transactions (deadlock, serialization
    failure, busy database) after every try: the client may try again."""

    def __init__(self, reason: str):
        super().__init__("the data this request changes")
        self.detail = (f"The request kept colliding with concurrent changes to the same data "
                       f"({reason}); nothing was changed. Try again.")


def conflict_reason(exc: BaseException) -> str | None:
    """Why a transaction failed, if trying it again can succeed; None otherwise."""
    if isinstance(exc, ConcurrentChange):
        return "concurrent change"
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
        if state in RETRYABLE_SQLSTATES:
            return RETRYABLE_SQLSTATES[state]
        if isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(orig):
            return "database is locked"
    return None


def retrying(fn: Callable[..., T] | None = None, *, tries: int = TRIES,
             sleep: Callable[[float], None] | None = None) -> Any:
    """Decorator: run a whole use case again (up to ``tries`` times, with jittered back-off)
    when its transaction fails for a reason a fresh try can fix (``conflict_reason``). Each
    try must open its own unit of work (the failed one was rolled back). After the last try,
    a ConcurrentChange (409)."""
    def decorate(f: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> T:
            for attempt in range(1, tries + 1):
                try:
                    return f(*args, **kwargs)
                except Exception as exc:
                    reason = conflict_reason(exc)
                    if reason is None:
                        raise
                    if attempt == tries:
                        log.warning("transaction conflict: giving up", use_case=f.__qualname__,
                                    reason=reason, tries=tries)
                        if isinstance(exc, ConcurrentChange):
                            raise
                        raise TransactionConflict(reason) from exc
                    delay = _jitter.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2 ** attempt))
                    log.warning("transaction conflict: trying again", use_case=f.__qualname__,
                                reason=reason, attempt=attempt, delay_ms=round(delay * 1000))
                    (sleep or time.sleep)(delay)
            raise AssertionError("unreachable")  # pragma: no cover
        return run
    return decorate(fn) if fn is not None else decorate
