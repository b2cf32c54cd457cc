"""Health for load balancers and orchestrators.

- ``/health/live``: the process answers (no database, no thread): restart it if this fails.
- ``/health/ready``: the database answers, its schema is at head and the in-process workers
  run: send traffic only while this is 200.
- ``/health``: as before (database and workers), kept for compatibility.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ... import __version__
from ...adapters.store.migrate import schema_status

router = APIRouter(tags=["health"])
DATABASE_TIMEOUT_S = 5.0


def _ping(engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


async def _database(c) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, c.store.engine), DATABASE_TIMEOUT_S)
        return "ok"
    except asyncio.TimeoutError:
        return f"no answer within {DATABASE_TIMEOUT_S:g} s"
    except Exception as exc:  # report, never raise
        return f"unreachable: {exc.__class__.__name__}"


def _workers(request: Request) -> tuple[int, bool]:
    c = request.app.state.container
    expected = c.settings.workers if request.app.state.start_workers else 0
    return len(c.workers), expected == 0 or c.workers_alive()


@router.get("/health/live")
async def live() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    c = request.app.state.container
    database = await _database(c)
    schema = "unknown"
    if database == "ok":
        try:
            status = await asyncio.to_thread(schema_status, c.store.engine)
            schema = "ok" if status.at_head else status.describe()
        except Exception as exc:
            schema = f"unreadable: {exc.__class__.__name__}"
    workers, workers_ok = _workers(request)
    is_ready = database == "ok" and schema == "ok" and workers_ok
    return JSONResponse({"status": "ready" if is_ready else "not ready", "database": database,
                         "schema": schema, "workers": workers, "workers_ok": workers_ok},
                        status_code=200 if is_ready else 503)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    c = request.app.state.container
    database = await _database(c)
    workers, workers_ok = _workers(request)
    healthy = database == "ok" and workers_ok
    return JSONResponse({"status": "ok" if healthy else "unavailable", "database": database,
                         "workers": workers, "workers_ok": workers_ok,
                         "catalog_version": c.catalog.version, "version": __version__},
                        status_code=200 if healthy else 503)
