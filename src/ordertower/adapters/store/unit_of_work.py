"""Unit of work: one database transaction, with the repositories that act inside it.

Everything a use case or a worker changes (state, events, unblocked work) is written through
one unit of work and commits together, or not at all. A transaction that loses a race (a
PostgreSQL deadlock, serialization failure or lock not available, a busy SQLite) leaves the
unit of work as a TransactionConflict, which the engine's ``@retrying`` (engine/conflicts.py)
answers by running the whole use case again.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from ...domain.clock import Clock
from ...domain.errors import TransactionConflict
from .idempotency import IdempotencyRepository
from .inventory import InventoryRepository
from .keys import KeyRepository
from .orchestration import ChangeRepository, OrchestrationRepository
from .repositories import AssetRepository, EventRepository, OrderRepository, PlanRepository
from .subscriptions import SubscriptionRepository


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
        self.keys = KeyRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.subscriptions = SubscriptionRepository(conn)
        return self

    def commit(self) -> None:
        self._tx.commit()
        if self.work_released and self._on_commit:
            self._on_commit()
        self.work_released = False

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.rollback()
        finally:
            assert self.conn is not None
            self.conn.close()
        reason = conflict_reason(exc) if exc is not None else None
        if reason is not None:  # lost a race: the engine's @retrying runs the use case again
            raise TransactionConflict(reason) from exc


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

    def read(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=True)


# --- a transaction that lost a race: TransactionConflict, for the engine's @retrying ----------

RETRYABLE_SQLSTATES = {"40P01": "deadlock detected", "40001": "serialization failure",
                       "55P03": "lock not available"}


def conflict_reason(exc: BaseException) -> str | None:
    """Why a transaction failed, if trying it again can succeed; None otherwise."""
    if isinstance(exc, sa_exc.DBAPIError):
        orig = exc.orig
        state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
        if state in RETRYABLE_SQLSTATES:
            return RETRYABLE_SQLSTATES[state]
        if isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(orig):
            return "database is locked"
    return None
