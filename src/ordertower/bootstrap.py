"""Wiring: build the store, catalog, callouts and workers from Settings. The one place
where SQLite or PostgreSQL, real or simulated systems are chosen."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import structlog

from .adapters.callouts import HttpCallouts
from .adapters.catalog_files import LoadedCatalog, load_catalog
from .adapters.store.database import create_db_engine
from .adapters.store.migrate import upgrade
from .adapters.store.unit_of_work import Store
from .config import Settings
from .engine import plan_order  # noqa: F401  (registers the plan-order step)
from .engine.auto_steps import registered_steps
from .engine.clock import Clock, SystemClock
from .engine.executors import Executors
from .engine.worker import Wakeup, Worker

log = structlog.get_logger("ordertower")


@dataclass
class Container:
    settings: Settings
    store: Store
    catalog: LoadedCatalog
    callouts: HttpCallouts
    executors: Executors
    wakeup: Wakeup = field(default_factory=Wakeup)
    workers: list[Worker] = field(default_factory=list)
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _listener: threading.Thread | None = None
    _stop_listener: threading.Event = field(default_factory=threading.Event)

    async def start_workers(self, count: int | None = None) -> None:
        count = self.settings.workers if count is None else count
        for n in range(count):
            worker = self.make_worker()
            self.workers.append(worker)
            self._tasks.append(asyncio.create_task(worker.run(), name=f"worker-{n}"))
        if count and self.store.engine.dialect.name == "postgresql":
            self._start_pg_listener()

    def make_worker(self, **overrides) -> Worker:
        systems = self.catalog.catalog.systems
        options = dict(wakeup=self.wakeup, max_in_flight=self.settings.max_in_flight,
                       lease_seconds=self.settings.lease_seconds,
                       poll_seconds=self.settings.poll_seconds,
                       system_limits={s.id: s.concurrency for s in systems},
                       rate_limits={s.id: s.rate_limit for s in systems if s.rate_limit},
                       jeopardy_seconds=self.settings.jeopardy_seconds)
        return Worker(self.store, self.executors, **(options | overrides))

    def workers_alive(self) -> bool:
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.workers.clear()
        self._stop_listener.set()
        await self.callouts.aclose()

    def _start_pg_listener(self) -> None:
        """LISTEN for work released by other processes, so idle workers wake at once."""
        import psycopg

        url = self.store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

        def listen() -> None:
            while not self._stop_listener.is_set():
                try:
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("LISTEN ordertower_work")
                        while not self._stop_listener.is_set():
                            for _ in conn.notifies(timeout=1.0, stop_after=1):
                                self.wakeup.ring()
                except Exception:  # pragma: no cover - database restart: reconnect
                    log.warning("LISTEN connection lost; reconnecting")
                    self._stop_listener.wait(1.0)

        self._listener = threading.Thread(target=listen, name="pg-listen", daemon=True)
        self._listener.start()


def bootstrap(settings: Settings, *, clock: Clock | None = None, migrate: bool = True,
              callouts: HttpCallouts | None = None) -> Container:
    catalog = load_catalog(settings.catalog_path, known_steps=registered_steps())
    engine = create_db_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    store = Store(engine, clock or SystemClock())
    callouts = callouts or HttpCallouts()
    executors = Executors(lambda: catalog.catalog, callouts,
                          {"simulators": settings.effective_simulators_url()},
                          callback_base=settings.effective_public_url())
    container = Container(settings, store, catalog, callouts, executors)
    store.on_work_released(container.wakeup.ring)
    return container
