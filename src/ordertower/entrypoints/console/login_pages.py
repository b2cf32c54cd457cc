"""Log in (an API key for a session cookie) and log out."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...services.access import identity_of, key_hash
from .session import (ConsoleSession, auth_on, checked_post, clear_cookie, csrf_ok, given_csrf,
                      read_cookie, safe_next, session_of, write_cookie)
from .templating import render

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login")
async def login_form(request: Request, next: str | None = None):
    target = safe_next(next)
    if not auth_on(request):  # --no-auth: the local admin, no key asked
        response = RedirectResponse(target, status_code=303)
        if await session_of(request) is None:
            write_cookie(request, response, None, logged_in=True)
        return response
    if await session_of(request) is not None:
        return RedirectResponse(target, status_code=303)
    data = read_cookie(request)
    if data is not None:
        return render(request, "login.html", None, csrf=data["c"], next=target, error=None)
    # a first visit: a pre-login cookie carrying the token the form must send back
    carrier = HTMLResponse()
    csrf = write_cookie(request, carrier, None, logged_in=False)
    page = render(request, "login.html", None, csrf=csrf, next=target, error=None)
    page.raw_headers.extend(h for h in carrier.raw_headers if h[0] == b"set-cookie")
    return page


@router.post("/login")
async def login(request: Request):
    form = await request.form()
    target = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
    data = read_cookie(request)
    if data is None or not csrf_ok(data["c"], await given_csrf(request)):
        return render(request, "forbidden.html", None, status=403,
                      detail="The login form had expired or came from another site. Open the "
                             "login page again.")
    key = form.get("key")
    key = key.strip() if isinstance(key, str) else ""
    identity = await asyncio.to_thread(identity_of, request.app.state.container.store, key) if key else None
    if identity is None:
        return render(request, "login.html", None, status=401, csrf=data["c"], next=target,
                      error="Unknown or revoked API key.")
    response = RedirectResponse(target, status_code=303)
    write_cookie(request, response, key_hash(key), logged_in=True)  # a new session, a new token
    return response


@router.post("/logout")
async def logout(request: Request, session: ConsoleSession = Depends(checked_post)):
    response = RedirectResponse("/console/login", status_code=303)
    clear_cookie(response)
    return response
