"""Health for load balancers and orchestrators.

- ``/health/live``: the process answers (no database, no thread): restart it if this fails.
- ``/health/ready``: the database answers and takes writes, its schema is at head and the
  in-process workers run: send traffic only while this is 200. Otherwise 503, a problem body
  (``not-ready``) saying why, with the same fields.
- ``/health``: as before (database and workers), kept for compatibility.

Probes never wait behind the engine or the API: the workers of ``serve`` are other processes
(entrypoints/worker_processes.py), and the database probes run on a connection of their own
(``create_probe_engine``: one connection, short time-outs) in threads of their own.

"Takes writes" is checked without taking a write lock (``adapters/store/database.probe``: the
SQLite files can be opened for writing; PostgreSQL is not read-only), so a probe never queues
behind a long transaction.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ... import __version__
from ...adapters.store.database import create_probe_engine, probe, unavailable_reason
from ...adapters.store.migrate import schema_status
from .problems import PROBLEM_TYPE, RETRY_AFTER_S

router = APIRouter(tags=["health"])
DATABASE_TIMEOUT_S = 5.0


class HealthProbe:
    """The probes' own database engine and threads (two: a probe stuck on a dead database
    holds one, the next probe still gets the other)."""

    def __init__(self, engine):
        self.engine = create_probe_engine(engine)
        self._own_engine = self.engine is not engine
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health-probe")

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self._own_engine:
            self.engine.dispose()


def _probe(request: Request) -> HealthProbe:
    return request.app.state.health_probe


async def _database(request: Request) -> str:
    p = _probe(request)
    try:
        return await asyncio.wait_for(p.run(probe, p.engine), DATABASE_TIMEOUT_S)
    except asyncio.TimeoutError:
        return f"no answer within {DATABASE_TIMEOUT_S:g} s"
    except Exception as exc:  # report, never raise
        reason = unavailable_reason(exc)
        return f"unreachable: {reason}" if reason else f"unreachable: {exc.__class__.__name__}"


def _unready(body: dict) -> JSONResponse:
    """503 as an RFC 9457 problem that says why, keeping the health fields beside it."""
    why = [f"database {body['database']}" if body["database"] != "ok" else "",
           f"schema {body.get('schema')}" if body.get("schema", "ok") not in ("ok", "unknown") else "",
           "workers not running" if not body["workers_ok"] else ""]
    detail = "; ".join(w for w in why if w) or "not ready"
    problem = {"type": PROBLEM_TYPE + "not-ready", "title": "Not ready", "detail": detail}
    return JSONResponse(problem | body | {"status": 503, "health": body["status"]}, status_code=503,
                        media_type="application/problem+json",
                        headers={"Retry-After": str(RETRY_AFTER_S)})


def _workers(request: Request) -> tuple[int, bool]:
    """(workers running, all that should run do): serve's child processes, or in-process
    workers (tests, embedding)."""
    children = request.app.state.worker_processes
    if children is not None:
        return children.running(), children.all_running()
    c = request.app.state.container
    expected = c.settings.workers if request.app.state.start_workers else 0
    return len(c.workers), expected == 0 or c.workers_alive()


@router.get("/health/live")
async def live() -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    database = await _database(request)
    schema = "unknown"
    if database == "ok":
        try:
            p = _probe(request)
            status = await asyncio.wait_for(p.run(schema_status, p.engine), DATABASE_TIMEOUT_S)
            schema = "ok" if status.at_head else status.describe()
        except Exception as exc:
            schema = f"unreadable: {exc.__class__.__name__}"
    workers, workers_ok = _workers(request)
    is_ready = database == "ok" and schema == "ok" and workers_ok
    body = {"status": "ready" if is_ready else "not ready", "database": database,
            "schema": schema, "workers": workers, "workers_ok": workers_ok}
    return JSONResponse(body) if is_ready else _unready(body)


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    c = request.app.state.container
    database = await _database(request)
    workers, workers_ok = _workers(request)
    healthy = database == "ok" and workers_ok
    body = {"status": "ok" if healthy else "unavailable", "database": database,
            "workers": workers, "workers_ok": workers_ok,
            # the version this process runs, not polled here: on the event loop, a poll on
            # the API's pool would stall /health and every request while the pool is busy
            "catalog_version": c.catalogs.in_use.version, "version": __version__}
    return JSONResponse(body) if healthy else _unready(body)
