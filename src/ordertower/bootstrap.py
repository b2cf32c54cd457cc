"""Wiring: build the store, catalog, callouts and workers from Settings. The one place
where SQLite or PostgreSQL, real or simulated systems are chosen."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import structlog

from .adapters.callouts import HttpCallouts
from .adapters.catalog_files import LoadedCatalog, load_catalog
from .adapters.catalog_registry import CatalogRegistry
from .adapters.store.database import create_db_engine, unavailable_reason
from .adapters.store.migrate import schema_status, upgrade
from .adapters.store.server_settings import PUBLIC_URL, read_setting, record_setting
from .adapters.store.unit_of_work import Store
from .config import Settings
from .engine.steps import registered_steps
from .domain.clock import Clock, SystemClock
from .engine.executors import Executors
from .engine.worker import Wakeup, Worker
from .services.people import seed_queue_members

if TYPE_CHECKING:  # pragma: no cover
    from .engine.dispatcher import Dispatcher

log = structlog.get_logger("ordertower")


@dataclass
class Container:
    settings: Settings
    store: Store
    catalogs: CatalogRegistry  # the newest deployed version, and older ones by id
    callouts: HttpCallouts
    executors: Executors
    step_http: httpx.AsyncClient | None = None  # the HTTP client of auto steps (plug-ins)
    wakeup: Wakeup = field(default_factory=Wakeup)
    workers: list[Worker] = field(default_factory=list)
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _listener: threading.Thread | None = None
    _stop_listener: threading.Event = field(default_factory=threading.Event)
    # events out: set by begin_shutdown (SSE streams end); the dispatcher of TMF hub listeners
    shutting_down: threading.Event = field(default_factory=threading.Event)
    dispatcher: "Dispatcher | None" = None
    _dispatcher_task: asyncio.Task | None = None

    async def start_workers(self, count: int | None = None) -> None:
        count = self.settings.workers if count is None else count
        for n in range(count):
            worker = self.make_worker()
            self.workers.append(worker)
            self._tasks.append(asyncio.create_task(worker.run(), name=f"worker-{n}"))
        if count and self.store.engine.dialect.name == "postgresql":
            self._start_pg_listener()
        if count and self.settings.dispatch_events:
            self._start_dispatcher()

    @property
    def catalog(self) -> LoadedCatalog:
        """The catalog new orders use: the newest deployed version (polled every few
        seconds, adapters/catalog_registry.py); orders in flight use ``catalogs.for_release``."""
        return self.catalogs.current

    def make_worker(self, **overrides) -> Worker:
        systems = self.catalog.catalog.systems
        options = dict(wakeup=self.wakeup, max_in_flight=self.settings.max_in_flight,
                       lease_seconds=self.settings.lease_seconds,
                       poll_seconds=self.settings.poll_seconds,
                       system_limits={s.id: s.concurrency for s in systems},
                       rate_limits={s.id: s.rate_limit for s in systems if s.rate_limit},
                       jeopardy_seconds=self.settings.jeopardy_seconds,
                       learn_seconds=self.settings.learn_seconds,
                       learn_after=self.settings.learn_after_completions,
                       grace_seconds=self.settings.grace_seconds)
        return Worker(self.store, self.executors, **(options | overrides))

    def workers_alive(self) -> bool:
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    def begin_shutdown(self) -> None:
        """Stop claiming work at once (thread-safe; called from a signal handler). Items
        already running finish within the grace period; ``stop`` then waits for that."""
        for worker in list(self.workers):
            worker.stop()
        self.shutting_down.set()
        if self.dispatcher is not None:
            self.dispatcher.stop()

    async def stop(self) -> None:
        self.begin_shutdown()
        await self._stop_dispatcher()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.workers.clear()
        self._stop_listener.set()
        await self.callouts.aclose()
        if self.step_http is not None:
            await self.step_http.aclose()

    # --- events out: the dispatcher of TMF hub listeners (engine/dispatcher.py) -------------

    def _start_dispatcher(self) -> None:
        if self.dispatcher is not None:
            return
        from .adapters.event_delivery import HttpEventDelivery
        from .adapters.store.event_feed import feed_of
        from .engine.dispatcher import Dispatcher
        from .entrypoints.api.notifications import render

        s = self.settings
        self.dispatcher = Dispatcher(
            self.store, feed_of(self.store), HttpEventDelivery(s.hub_timeout_seconds), render,
            poll_seconds=s.events_poll_seconds, lease_seconds=s.lease_seconds,
            retry_base_seconds=s.hub_retry_base_seconds, retry_max_seconds=s.hub_retry_max_seconds,
            failing_after_attempts=s.hub_failing_after_attempts,
            failing_after_seconds=s.hub_failing_after_seconds)
        self._dispatcher_task = asyncio.create_task(self.dispatcher.run(), name="dispatcher")

    async def _stop_dispatcher(self) -> None:
        if self.dispatcher is None:
            return
        self.dispatcher.stop()
        if self._dispatcher_task is not None:
            await asyncio.gather(self._dispatcher_task, return_exceptions=True)
        await self.dispatcher.delivery.aclose()
        self.dispatcher, self._dispatcher_task = None, None

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


def open_store(database_url: str, clock: Clock | None = None) -> Store:
    """A store on a database, for commands that only read or migrate (no workers)."""
    return Store(create_db_engine(database_url), clock or SystemClock())


def upgrade_schema(database_url: str) -> tuple[str | None, str]:
    """``ordertower db upgrade``: (revision before, revision after)."""
    return upgrade(create_db_engine(database_url))


def schema_of(database_url: str):
    """``ordertower db status``: the schema's revision and the head this code needs."""
    return schema_status(create_db_engine(database_url))


class SchemaNotAtHead(RuntimeError):
    """Started with --no-migrate on a database whose schema is not the one this code needs."""


def prepare_schema(engine, settings: Settings) -> None:
    """Upgrade the schema to head (safe with many processes starting at once), or, with
    ``migrate`` off, refuse to start on a schema that is not at head."""
    if settings.migrate:
        before, after = upgrade(engine)
        if before != after:
            log.info("schema upgraded", before=before, after=after)
        return
    status = schema_status(engine)
    if not status.at_head:
        raise SchemaNotAtHead(f"{status.describe()}: run 'ordertower db upgrade' first "
                              "(or start without --no-migrate)")


def wait_for_public_url(store: Store, poll_seconds: float = 2.0,
                        patience_seconds: float | None = None) -> str:
    """A worker that was not told where serve is reads the URL serve recorded; until one
    is recorded it waits (it never guesses an address that may be somebody else's)."""
    started = time.monotonic()
    said = False
    while True:
        url = read_setting(store.engine, PUBLIC_URL)
        if url:
            return url
        if patience_seconds is not None and time.monotonic() - started > patience_seconds:
            raise RuntimeError("no public URL is recorded in the database: start 'ordertower "
                               "serve' on it, or set ORDERTOWER_PUBLIC_URL / --simulators-url")
        if not said:
            log.info("waiting for serve to record its public URL in the database "
                     "(or set ORDERTOWER_PUBLIC_URL)")
            said = True
        time.sleep(poll_seconds)


class DatabaseNeverCame(RuntimeError):
    """The database did not answer within ORDERTOWER_DATABASE_WAIT_SECONDS at start."""


def wait_for_database(engine, patience_seconds: float | None, *, first_delay: float = 0.5,
                      max_delay: float = 5.0, sleep=time.sleep) -> None:
    """At start, wait for a database that cannot serve yet (not started, restarting,
    unreachable), trying again with exponential back-off and saying so in the log each time;
    ``patience_seconds`` None waits for ever, 0 not at all. An error that waiting cannot mend
    (wrong password, no such database, a SQLite folder that does not exist) is raised at once."""
    started = time.monotonic()
    delay, attempt = first_delay, 0
    while True:
        attempt += 1
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            if attempt > 1:
                log.info("database available", attempts=attempt,
                         waited_s=round(time.monotonic() - started, 1))
            return
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            waited = time.monotonic() - started
            if patience_seconds is not None and waited + delay > patience_seconds:
                raise DatabaseNeverCame(f"the database did not answer within {patience_seconds:g} s "
                                        f"(ORDERTOWER_DATABASE_WAIT_SECONDS): {reason}") from exc
            log.warning("waiting for the database", reason=reason, attempt=attempt,
                        retry_in_s=round(delay, 2), waited_s=round(waited, 1))
            sleep(delay)
            delay = min(delay * 2, max_delay)


def bootstrap(settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None,
              callouts: HttpCallouts | None = None, role: str = "serve") -> Container:
    """Wire a process. ``role`` is ``serve`` (records its public URL for the others) or
    ``worker`` (reads it, unless told)."""
    steps = registered_steps()
    for name, why in steps.unavailable.items():
        log.warning("auto step unavailable", step=name, reason=why)
    catalog = load_catalog(settings.catalog_path, known_steps=steps)
    for warning in catalog.warnings:  # allowed, but likely wrong (catalog validate prints them)
        log.warning("catalog warning", where=f"{warning.file}:{warning.line}", path=warning.path,
                    message=warning.message)
    # on SQLite, the API's writes take the lock before a worker's (adapters/store/write_turns.py)
    engine = create_db_engine(settings.database_url,
                              role="engine" if role == "worker" else "intake")
    if migrate is not None:
        settings.migrate = migrate
    wait_for_database(engine, settings.database_wait_seconds)
    prepare_schema(engine, settings)
    store = Store(engine, clock or SystemClock(), priority_aging_s=settings.priority_aging_seconds)
    if role == "serve":
        public_url = settings.effective_public_url()
        record_setting(engine, store.clock, PUBLIC_URL, public_url)
        # queue membership is data, seeded from the catalog (a member removed stays removed)
        seed_queue_members(store, catalog.catalog.work_queues)
    elif settings.public_url:
        public_url = settings.public_url.rstrip("/")
    elif settings.simulators_url:  # told where the simulators are; callbacks go to serve
        public_url = read_setting(engine, PUBLIC_URL) or wait_for_public_url(store)
    else:
        public_url = wait_for_public_url(store)
    callouts = callouts or HttpCallouts()
    catalogs = CatalogRegistry(engine, store.clock, steps,
                               refresh_seconds=settings.catalog_refresh_seconds)
    # on an empty database the files catalog becomes version 1; ``serve --catalog PATH``
    # (or ORDERTOWER_CATALOG) deploys its files when they differ from the newest version
    catalogs.open(catalog, deploy_files=role == "serve" and settings.catalog_path is not None,
                  who=f"ordertower {role}")
    # auto steps (plug-ins) call other systems with this client (StepContext.http)
    step_http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    # an item runs with the catalog version its order was decomposed with
    executors = Executors(catalogs.catalog_for, callouts,
                          {"simulators": settings.simulators_url_for(public_url)},
                          callback_base=public_url, steps=steps, http=step_http,
                          clock=store.clock)
    container = Container(settings, store, catalogs, callouts, executors, step_http=step_http)
    store.on_work_released(container.wakeup.ring)
    return container
