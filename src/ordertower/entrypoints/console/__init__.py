"""The operations console: server-rendered HTML (Jinja2 + htmx + Mermaid), served by
``ordertower serve`` at ``/`` (which redirects to ``/console/orders``).

Contract for the console's pages (docs/console.md says the same for people):

- Every page lives under ``/console/``; one module per page group, named ``<name>_pages.py``,
  each exporting ``router = APIRouter(prefix="/console")``. ``routes.install`` includes them:
  one ``include_router`` line per module. Paths: ``/console/orders``, ``/console/orders/{id}``
  (this package's first pages), ``/console/fallout``, ``/console/tasks`` (work queues),
  ``/console/systems``, ``/console/catalog``.
- The navigation is ``templating.NAV`` (path, label): one entry per page group.
- A page handler takes ``session: ConsoleSession = Depends(console_session)``
  (``session.py``): without a valid session cookie the browser is redirected to
  ``/console/login``; with it, ``request.state.actor`` and ``request.state.role`` are the
  logged-in key's, exactly as the API's bearer middleware sets them, so
  ``entrypoints.api.roles.require_role(request, "operator", ...)`` and
  ``entrypoints.api.common.actor(request)`` work unchanged. Under ``serve --no-auth`` the
  session is the local admin's, made on the first visit.
- A POST handler takes ``session: ConsoleSession = Depends(checked_post)`` instead: it also
  refuses (403) a request without the session's CSRF token (form field ``csrf_token``, or the
  ``X-CSRF-Token`` header that ``base.html`` makes htmx send on every request). Forms put
  ``{{ csrf_field() }}`` inside ``<form method="post">``.
- Render with ``templating.render(request, "name.html", session, **context)``; templates
  extend ``base.html`` and fill ``{% block content %}`` (``{% block title %}`` too). Actions
  answer ``303`` back to the page (``templating.back(...)``); a refused action renders
  ``problem.html`` with the status of the error (``templating.problem_page``).
- Live updates: read ``after = await live.position(request)`` before the page's data; an
  element with ``hx-ext="sse" sse-connect="/console/events?after={{ after }}&..."`` (same
  filters as ``/api/v1/events``: ``order``, ``type``, ``customer``) receives every event
  written since (event name ``change``; the data is the event's JSON). Inside it, a
  ``<span hidden hx-trigger="sse:change" data-live-signal></span>`` and, on each fragment to
  refresh, ``data-live hx-get="..." hx-trigger="refresh"`` (``static/console.js`` sends the
  ``refresh`` at most every 0.6 s and always after the last event).
- Static files are under ``/console/static/`` (``static/console.css``, ``static/console.js``,
  ``static/vendor/``: see ``VENDORED.md``). No inline script: the Content-Security-Policy is
  ``script-src 'self'``; behaviour goes in ``static/console.js`` (or a file of the page's own).
- Security headers (CSP, nosniff, frame-ancestors 'none', no-store) are added to every
  response under ``/`` and ``/console/`` by ``security.ConsoleHeaders``.
"""

from .routes import install

__all__ = ["install"]
