"""Unit of work: one database transaction, with the repositories that act inside it.

Everything a use case or a worker changes (state, events, unblocked work) is written through
one unit of work and commits together, or not at all. A transaction that loses a race (a
PostgreSQL deadlock, serialization failure or lock not available, a busy SQLite) leaves the
unit of work as a TransactionConflict, which the engine's ``@retrying`` (engine/conflicts.py)
answers by running the whole use case again. A database that cannot serve now (lost
connection, read-only, disk full...: ``database.unavailable_reason``) leaves it as a
DatabaseUnavailable, which the API answers with 503 and workers with a back-off.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from ...domain.clock import Clock
from ...domain.errors import DatabaseUnavailable, TransactionConflict
from .database import unavailable_reason, write_turns_of
from .write_turns import EngineTurns
from ...domain.priority import DEFAULT_AGING_SECONDS
from .idempotency import IdempotencyRepository
from .console_queries import ConsoleQueryRepository
from .inventory import InventoryRepository
from .keys import KeyRepository
from .orchestration import ChangeRepository, OrchestrationRepository
from .people import FalloutWorkRepository, PeopleRepository
from .repositories import AssetRepository, EventRepository, OrderRepository, PlanRepository
from .service_levels import ServiceLevelRepository
from .subscriptions import SubscriptionRepository


class SqlUnitOfWork:
    def __init__(self, engine: Engine, clock: Clock, readonly: bool = False,
                 on_commit: Callable[[], None] | None = None,
                 priority_aging_s: float = DEFAULT_AGING_SECONDS):
        self.engine = engine
        self.clock = clock
        self.priority_aging_s = priority_aging_s  # domain/priority.py: the claim order
        self.readonly = readonly
        self._on_commit = on_commit
        self.conn: Connection | None = None
        self.work_released = False  # set when new items became ready (wakes workers)

    def __enter__(self) -> "SqlUnitOfWork":
        conn = None
        try:
            conn = self.engine.connect()
            if self.readonly:
                conn = conn.execution_options(readonly=True)
            self._tx = conn.begin()
        except Exception as exc:
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
            conflict = conflict_reason(exc)
            if conflict is not None:
                raise TransactionConflict(conflict) from exc
            reason = unavailable_reason(exc)
            if reason is not None:
                raise DatabaseUnavailable(reason) from exc
            raise
        self.conn = conn
        self.orders = OrderRepository(conn)
        self.events = EventRepository(conn)
        self.plan = PlanRepository(conn, self)
        self.assets = AssetRepository(conn)
        self.inventory = InventoryRepository(conn)
        self.orchestration = OrchestrationRepository(conn)
        self.changes = ChangeRepository(conn)
        self.keys = KeyRepository(conn)
        self.people = PeopleRepository(conn)
        self.fallout_work = FalloutWorkRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.subscriptions = SubscriptionRepository(conn)
        self.console = ConsoleQueryRepository(conn)
        self.service_levels = ServiceLevelRepository(conn)
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
            assert self.conn is not None
            self.conn.close()
        except Exception as own:
            if exc is None:  # a failure of its own (a rollback on a connection that died)
                exc = own
                if conflict_reason(own) is None and unavailable_reason(own) is None:
                    raise
            # else the connection died with the error being raised: report that error
        reason = conflict_reason(exc) if exc is not None else None
        if reason is not None:  # lost a race: the engine's @retrying runs the use case again
            raise TransactionConflict(reason) from exc
        unavailable = unavailable_reason(exc) if exc is not None else None
        if unavailable is not None:
            raise DatabaseUnavailable(unavailable) from exc


# the API wrote this recently: it may write again any moment
INTAKE_WINDOW_S = 1.0


class Store:
    """The database: hands out units of work, and tells listeners when work was released."""

    def __init__(self, engine: Engine, clock: Clock, priority_aging_s: float = DEFAULT_AGING_SECONDS):
        self.engine = engine
        self.clock = clock
        self.priority_aging_s = priority_aging_s
        self._listeners: list[Callable[[], None]] = []

    def writers_waiting(self) -> bool:
        """Others write now and wait for this process's write transactions: on SQLite (one
        writer at a time), a worker's while the API wrote within the last second
        (write_turns.py). Never on PostgreSQL, whose writers lock rows, not the database."""
        turns = write_turns_of(self.engine)
        return isinstance(turns, EngineTurns) and turns.intake_active(INTAKE_WINDOW_S)

    def on_work_released(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _released(self) -> None:
        for listener in list(self._listeners):
            listener()

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, on_commit=self._released,
                             priority_aging_s=self.priority_aging_s)

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
