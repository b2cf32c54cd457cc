"""Error responses for every error, so no request ends in a bare 500. The one place that
decides their shape, by path: under ``/tmf-api/`` a TMF630 ``Error`` (tmf_errors.py), elsewhere
RFC 9457 problem JSON. Both carry ``errors`` naming each bad field or blocking item.

A database that cannot serve now (lost connection, restart, read-only file, disk full, locked
too long: ``adapters/store/database.unavailable_reason``) is answered here, in one place, with
503 ``database-unavailable`` and ``Retry-After``, whether the error came through a unit of work
(DatabaseUnavailable) or from a direct query (the SQLAlchemy error itself)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from fastapi.routing import APIRoute

from ...adapters.store.database import unavailable_reason
from ...domain.errors import DatabaseUnavailable, DomainError, Issue
from .request_log import client_disconnected
from .tmf_errors import is_tmf, tmf_error_response

log = structlog.get_logger("ordertower.api")
PROBLEM_TYPE = "https://ordertower.dev/problems/"
STATUS_BY_KIND = {
    "invalid-order": 422, "illegal-transition": 409, "plan-cycle": 422, "not-found": 404,
    "concurrent-change": 409, "bad-request": 400, "unsupported-media-type": 415,
    "payload-too-large": 413, "unauthorized": 401, "forbidden": 403, "conflict": 409,
    "gone": 410, "past-ponr": 409, "changes-not-allowed": 409,
}
RETRY_AFTER_S = 5  # what a client is told to wait when the database cannot serve now


class Problem(Exception):
    """An error raised by an entrypoint (before any use case runs)."""

    def __init__(self, status: int, kind: str, title: str, detail: str,
                 issues: list[Issue] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.issues = issues or []
        self.headers = headers


def problem_response(status: int, kind: str, title: str, detail: str,
                     issues: list[Issue] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_TYPE + kind, "title": title, "status": status, "detail": detail}
    if issues:
        body["errors"] = [i.as_dict() for i in issues]
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def error_response(request: Request, status: int, kind: str, title: str, detail: str,
                   issues: list[Issue] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The error as the API at ``request``'s path speaks it (TMF Error or problem JSON)."""
    path = request.url.path
    if is_tmf(path):
        return tmf_error_response(request.method, path, status, kind, title, detail,
                                  PROBLEM_TYPE + kind, issues, headers)
    return problem_response(status, kind, title, detail, issues, headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers on this path (for a 405's ``Allow``)."""
    scope = {"type": "http", "path": request.url.path, "method": "", "root_path": "",
             "path_params": {}}
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, APIRoute) and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


def _loc(loc: tuple) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "request"


def issues_from_pydantic(errors: list[dict[str, Any]]) -> list[Issue]:
    return [Issue(_loc(tuple(e.get("loc", ()))), e.get("msg", "invalid").removeprefix("Value error, "))
            for e in errors]


def unavailable_response(request: Request, reason: str) -> JSONResponse:
    """503: the database cannot serve now; nothing was changed; try again after a while."""
    log.warning("database unavailable", reason=reason)
    return error_response(request, 503, "database-unavailable", "Database unavailable",
                            f"The database cannot serve requests now ({reason}); nothing was "
                            f"changed. Try again in a few seconds.",
                            headers={"Retry-After": str(RETRY_AFTER_S)})


def database_error_response(request: Request, exc: BaseException) -> JSONResponse:
    """A database error of a request: 503 when it is the database's state, else 500."""
    if isinstance(exc, DatabaseUnavailable):
        return unavailable_response(request, exc.reason)
    reason = unavailable_reason(exc)
    if reason is not None:
        return unavailable_response(request, reason)
    log.error("unexpected database error", error=repr(exc), exc_info=exc)
    return error_response(request, 500, "internal-error", "Internal error",
                            "Something went wrong on our side; nothing was changed.")


def install(app: FastAPI) -> None:
    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, exc: DatabaseUnavailable):
        return database_error_response(request, exc)

    @app.exception_handler(sa_exc.DBAPIError)
    async def _database(request: Request, exc: sa_exc.DBAPIError):
        return database_error_response(request, exc)

    @app.exception_handler(sa_exc.TimeoutError)
    async def _pool_timeout(request: Request, exc: sa_exc.TimeoutError):
        return database_error_response(request, exc)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return error_response(request, exc.status, exc.kind, exc.title, exc.detail, exc.issues, exc.headers)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        status = STATUS_BY_KIND.get(exc.kind, 422)
        return error_response(request, status, exc.kind, exc.title, exc.detail, exc.issues)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return error_response(request, 400, "bad-request", "Bad request", "The request is not valid.",
                                issues_from_pydantic(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        titles = {404: "Not found", 405: "Method not allowed"}
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return error_response(request, exc.status_code, "http-" + str(exc.status_code),
                              titles.get(exc.status_code, "Error"), str(exc.detail),
                              headers=headers)

    app.add_exception_handler(ClientDisconnect, client_disconnected)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, but answer well
        log.exception("unexpected error", error=repr(exc))
        return error_response(request, 500, "internal-error", "Internal error",
                                "Something went wrong on our side; nothing was changed.")
