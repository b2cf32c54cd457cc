"""The ASGI application: API, simulators and (optionally) in-process workers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from ... import __version__
from ...bootstrap import Container
from ...domain.errors import Issue
from . import catalog_explain
from .large_requests import PauseCollectorForLargeBodies
from . import callbacks, fallout, health, metrics, operations, problems, systems, tasks, tmf622, tmf637
from .request_log import RequestLog
from .access import BearerKeyMiddleware


def create_app(container: Container, *, start_workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_workers:
            await container.start_workers()
        try:
            yield
        finally:
            sims = getattr(app.state, "simulators", None)
            if sims is not None:
                sims.state.callbacks.cancel_all()
            await container.stop()

    app = FastAPI(title="ordertower", version=__version__, lifespan=lifespan,
                  description="Order management and orchestration (TMF622, TMF637, operations).")
    app.state.container = container
    app.state.start_workers = start_workers
    problems.install(app)

    @app.middleware("http")
    async def refuse_nul(request: Request, call_next):
        """A NUL character has no place in a path or query (and PostgreSQL refuses it)."""
        if "\x00" in request.url.path or any("\x00" in k or "\x00" in v
                                               for k, v in request.query_params.multi_items()):
            return problems.problem_response(400, "bad-request", "Bad request",
                                             "NUL characters are not allowed in the URL.",
                                             [Issue("url", "contains a NUL character")])
        return await call_next(request)
    if container.settings.auth:
        app.add_middleware(BearerKeyMiddleware, store=container.store)
    app.add_middleware(PauseCollectorForLargeBodies)
    app.add_middleware(RequestLog)  # outermost: every line of a request carries its id
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(tmf622.router)
    app.include_router(tmf637.router)
    app.include_router(operations.router)
    app.include_router(catalog_explain.router)
    for module in (callbacks, tasks, fallout, systems):
        app.include_router(module.router)
    from . import events, hubs  # events out: server-sent events, TMF hubs

    app.include_router(events.router)
    app.include_router(hubs.tmf622_router)
    app.include_router(hubs.tmf637_router)

    if container.settings.simulators:
        from ...simulators import create_simulators_app

        sims = create_simulators_app()
        app.state.simulators = sims
        app.mount("/simulators", sims)
    return app
