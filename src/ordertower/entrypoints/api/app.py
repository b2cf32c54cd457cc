"""The ASGI application: API, simulators and (optionally) in-process workers."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ... import __version__
from ...bootstrap import Container
from ...domain.errors import Issue
from . import catalog_explain
from .large_requests import PauseCollectorForLargeBodies
from . import callbacks, fallout, operations, problems, systems, tasks, tmf622, tmf637
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
    app.include_router(tmf622.router)
    app.include_router(tmf637.router)
    app.include_router(operations.router)
    app.include_router(catalog_explain.router)
    for module in (callbacks, tasks, fallout, systems):
        app.include_router(module.router)

    @app.get("/health", tags=["health"])
    async def health(request: Request) -> JSONResponse:
        c: Container = request.app.state.container

        def ping() -> None:
            with c.store.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))

        try:
            await asyncio.to_thread(ping)
            database = "ok"
        except Exception as exc:  # report, never raise
            database = f"unreachable: {exc.__class__.__name__}"
        workers_expected = c.settings.workers if start_workers else 0
        workers_ok = workers_expected == 0 or c.workers_alive()
        healthy = database == "ok" and workers_ok
        return JSONResponse({"status": "ok" if healthy else "unavailable", "database": database,
                             "workers": len(c.workers), "workers_ok": workers_ok,
                             "catalog_version": c.catalog.version, "version": __version__},
                            status_code=200 if healthy else 503)

    if container.settings.simulators:
        from ...simulators import create_simulators_app

        sims = create_simulators_app()
        app.state.simulators = sims
        app.mount("/simulators", sims)
    return app
