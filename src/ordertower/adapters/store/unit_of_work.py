"""Unit of work: one database transaction, with the repositories that act inside it.

Everything a use case or a worker changes (state, events, unblocked work) is written through
one unit of work and commits together, or not at all.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy.engine import Connection, Engine

from ...engine.clock import Clock
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

    def read(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.clock, readonly=True)
