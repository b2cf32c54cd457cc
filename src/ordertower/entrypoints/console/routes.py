"""Wires the console into the application: its routers, its static files, its headers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from . import live, login_pages, order_pages, orders_pages
from . import catalog_pages, fallout_pages, jeopardy_pages, systems_pages, work_queues_pages
from .security import ConsoleHeaders
from .session import CsrfRefused, LoginRequired, login_url
from .templating import render

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.add_middleware(ConsoleHeaders)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):  # a fragment: send the whole page to login
            return Response(status_code=401, headers={"HX-Redirect": login_url(exc.next_url)})
        if request.method != "GET":
            return Response("Log in first.", status_code=401, media_type="text/plain")
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return render(request, "forbidden.html", None, status=403,
                      detail="This form had no valid CSRF token (it expired, or came from "
                             "another site). Reload the page and try again.")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console/orders", status_code=303)

    @app.get("/console", include_in_schema=False)
    def console_home() -> RedirectResponse:
        return RedirectResponse("/console/orders", status_code=303)

    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(login_pages.router)
    app.include_router(live.router)
    app.include_router(orders_pages.router)
    app.include_router(order_pages.router)
    # console-2's pages: one line each
    app.include_router(fallout_pages.router)
    app.include_router(jeopardy_pages.router)
    app.include_router(work_queues_pages.router)
    app.include_router(systems_pages.router)
    app.include_router(catalog_pages.router)
