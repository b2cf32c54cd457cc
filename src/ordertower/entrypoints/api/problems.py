"""RFC 9457 problem responses for every error, so no request ends in a bare 500."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ...domain.errors import DomainError, Issue
from .request_log import client_disconnected

log = structlog.get_logger("ordertower.api")
PROBLEM_TYPE = "https://ordertower.dev/problems/"
STATUS_BY_KIND = {
    "invalid-order": 422, "illegal-transition": 409, "plan-cycle": 422, "not-found": 404,
    "concurrent-change": 409, "bad-request": 400, "unsupported-media-type": 415,
    "payload-too-large": 413, "unauthorized": 401, "forbidden": 403, "conflict": 409,
    "gone": 410, "past-ponr": 409,
}


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


def _loc(loc: tuple) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "request"


def issues_from_pydantic(errors: list[dict[str, Any]]) -> list[Issue]:
    return [Issue(_loc(tuple(e.get("loc", ()))), e.get("msg", "invalid").removeprefix("Value error, "))
            for e in errors]


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem):
        return problem_response(exc.status, exc.kind, exc.title, exc.detail, exc.issues, exc.headers)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError):
        status = STATUS_BY_KIND.get(exc.kind, 422)
        return problem_response(status, exc.kind, exc.title, exc.detail, exc.issues)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        return problem_response(400, "bad-request", "Bad request", "The request is not valid.",
                                issues_from_pydantic(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        titles = {404: "Not found", 405: "Method not allowed"}
        return problem_response(exc.status_code, "http-" + str(exc.status_code),
                                titles.get(exc.status_code, "Error"), str(exc.detail),
                                headers=getattr(exc, "headers", None))

    app.add_exception_handler(ClientDisconnect, client_disconnected)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):  # pragma: no cover - a bug, but answer well
        log.exception("unexpected error", error=repr(exc))
        return problem_response(500, "internal-error", "Internal error",
                                "Something went wrong on our side; nothing was changed.")
