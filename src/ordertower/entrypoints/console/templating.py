"""The console's templates (Jinja2, autoescaped) and how pages answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ... import __version__
from ...domain.errors import DomainError
from ..api.problems import STATUS_BY_KIND, Problem
from .session import CSRF_FIELD, ConsoleSession

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)


def when(value: Any) -> str:
    """A moment as people read it (UTC, to the second)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S")


templates.env.filters["when"] = when

# The navigation: (path, label). One entry per page group (console-2 adds its own).
NAV: list[tuple[str, str]] = [
    ("/console/orders", "Orders"),
    ("/console/fallout", "Fallout"),
    ("/console/jeopardy", "Jeopardy"),
    ("/console/tasks", "Work queues"),
    ("/console/systems", "Systems"),
    ("/console/catalog", "Catalog"),
]


def render(request: Request, name: str, session: ConsoleSession | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    csrf = session.csrf if session else context.pop("csrf", "")
    context.update(
        session=session, nav=NAV, version=__version__, csrf_token=csrf,
        csrf_field=lambda: Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'),
        auth=bool(request.app.state.container.settings.auth))
    return templates.TemplateResponse(request, name, context, status_code=status)


def back(url: str) -> RedirectResponse:
    """After an action: back to the page (POST, then redirect, then GET)."""
    return RedirectResponse(url, status_code=303)


def problem_page(request: Request, session: ConsoleSession | None, error: Exception,
                 back_to: str | None = None) -> HTMLResponse:
    """A refused action, as a page with the status the API would answer."""
    if isinstance(error, Problem):
        status, title, detail, issues = error.status, error.title, error.detail, error.issues
    elif isinstance(error, DomainError):
        status = STATUS_BY_KIND.get(error.kind, 422)
        title, detail, issues = error.title, error.detail, error.issues
    else:
        raise error
    return render(request, "problem.html", session, status=status, title=title, detail=detail,
                  issues=[i.as_dict() for i in issues], back_to=back_to)
