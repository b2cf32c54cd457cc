"""The ASGI application: API, simulators, and the workers: child processes (``serve``:
entrypoints/worker_processes.py) or, for tests and embedding, in-process workers."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI

from ... import __version__
from ...bootstrap import Container
from . import catalog_explain, catalog_versions, openapi_document
from .large_requests import PauseCollectorForLargeBodies
from . import callbacks, fallout, keys, health, metrics, operations, people, problems, systems, tasks, tmf622, tmf637
from . import service_levels
from .refuse_nul import RefuseNul
from .request_log import RequestLog
from .access import AccessControl
from .route_roles import check_every_route

if TYPE_CHECKING:  # pragma: no cover
    from ..worker_processes import WorkerProcesses


def create_app(container: Container, *, start_workers: bool = True,
               worker_processes: "WorkerProcesses | None" = None) -> FastAPI:
    """``start_workers``: run the container's workers in this process and event loop;
    ``worker_processes``: start (and supervise, and stop) these child processes instead."""
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_workers:
            await container.start_workers()
        if worker_processes is not None:
            await worker_processes.start()
        try:
            yield
        finally:
            if worker_processes is not None:
                await worker_processes.stop()
            sims = getattr(app.state, "simulators", None)
            if sims is not None:
                sims.state.callbacks.cancel_all()
            await container.stop()
            app.state.health_probe.close()

    app = FastAPI(title="ordertower", version=__version__, lifespan=lifespan,
                  description="Order management and orchestration (TMF622, TMF637, operations).",
                  generate_unique_id_function=openapi_document.operation_id)
    app.state.container = container
    app.state.start_workers = start_workers
    app.state.worker_processes = worker_processes
    app.state.health_probe = health.HealthProbe(container.store.engine)
    problems.install(app)

    app.add_middleware(RefuseNul)  # innermost: before the routes read the URL
    # every request: the route's least role (route_roles.py) against the caller's key
    app.add_middleware(AccessControl, store=container.store, routes=app.router.routes,
                       auth=container.settings.auth)
    app.add_middleware(PauseCollectorForLargeBodies)
    app.add_middleware(RequestLog)  # outermost: every line of a request carries its id
    if container.settings.simulators:
        from ...simulators import create_simulators_app

        # the simulators post asynchronous replies to this server's callback route only.
        # Mounted first: a route is found by trying each in turn, and a callout to a simulator
        # tried every API route before this prefix (a seventh of serve's time under callouts)
        sims = create_simulators_app(callback_prefix=container.executors.callback_url(""))
        app.state.simulators = sims
        app.mount("/simulators", sims)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(tmf622.router)
    app.include_router(tmf637.router)
    app.include_router(operations.router)
    app.include_router(catalog_explain.router)
    app.include_router(catalog_versions.router)
    for module in (callbacks, tasks, people, fallout, systems, keys, service_levels):
        app.include_router(module.router)
    from . import events, hubs  # events out: server-sent events, TMF hubs

    app.include_router(events.router)
    app.include_router(hubs.tmf622_router)
    app.include_router(hubs.tmf637_router)

    from ..console import install as install_console  # the operations console at /

    install_console(app)

    openapi_document.install(app)
    check_every_route(app.routes)  # a route without a least role refuses to start
    return app
