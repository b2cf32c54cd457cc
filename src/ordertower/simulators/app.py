"""The fulfillment-system simulators as a standalone ASGI app.

Mounted by the main server at ``/simulators``. Inside the app:

- ``GET /`` lists the systems and their settings;
- ``GET|PUT|DELETE /{system}`` shows, changes (partial update) or resets a system; it shows
  ``in_flight`` (requests received, not yet answered) and ``peak_in_flight`` (the most at
  once since the last reset);
- any method on ``/{system}/{path}`` is a fulfillment request: recorded, then answered
  after ``latency_ms``, failed with 503 when a failure knob says so, replayed for a known
  ``Idempotency-Key``, or accepted with 202 and answered later on its callback URL.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ordertower.domain.input_parsers import whole_number
from ordertower.simulators.state import (
    DEFAULT_SYSTEMS,
    MAX_RAW_BODY_CHARS,
    FieldError,
    Reply,
    SettingsError,
    SimulatorRegistry,
    SystemState,
    success_body,
    utc_now_iso,
    validate_settings_patch,
)

CallbackClientFactory = Callable[[], httpx.AsyncClient]

CALLBACK_RETRIES = 3
CALLBACK_BACKOFF_S = 0.05
FULFILLMENT_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_RECORDED_LIMIT = 10**9


def problem(
    status: int, detail: str, *, kind: str, title: str | None = None,
    errors: Sequence[FieldError] = (),
) -> JSONResponse:
    """An RFC 9457 problem response."""
    body: dict[str, Any] = {
        "type": f"urn:ordertower:problem:{kind}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": [e.as_dict() for e in errors],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _unknown_system(name: str) -> JSONResponse:
    return problem(
        404, f"No simulated system named '{name}'.", kind="not-found",
        title="Unknown system", errors=[FieldError("system", "unknown system")],
    )


def _parse_body(raw: bytes) -> tuple[Any, str | None]:
    """The JSON body (or None) and, when it is not valid JSON, its raw text truncated."""
    if not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):
        return None, raw.decode("utf-8", errors="replace")[:MAX_RAW_BODY_CHARS]


# the roles of ordertower's keys that may read callback tokens in the request log; a viewer
# or agent sees them redacted. Without access control (no role on the request) all is shown.
ROLES_SEEING_TOKENS = ("operator", "admin")


def _sees_tokens(request: Request) -> bool:
    role = getattr(request.state, "role", None)
    return role is None or role in ROLES_SEEING_TOKENS


def _default_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5)


class CallbackDispatcher:
    """Delivers asynchronous replies in background tasks, with retries."""

    def __init__(self, client_factory: CallbackClientFactory | None = None):
        self._client_factory = client_factory or _default_client
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        """How many callbacks are still scheduled or being delivered."""
        return len(self._tasks)

    def schedule(
        self, state: SystemState, entry: dict[str, Any], url: str,
        payload: dict[str, Any], delay_ms: int,
    ) -> None:
        """Post ``payload`` to ``url`` after ``delay_ms``, noting the outcome on ``entry``."""
        entry["callback"] = {"url": url, "state": "pending", "attempts": 0}
        task = asyncio.get_running_loop().create_task(
            self._deliver(state, entry, url, payload, delay_ms)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_all(self) -> None:
        """Cancel every pending delivery (on shutdown)."""
        for task in list(self._tasks):
            task.cancel()

    async def _deliver(
        self, state: SystemState, entry: dict[str, Any], url: str,
        payload: dict[str, Any], delay_ms: int,
    ) -> None:
        await asyncio.sleep(delay_ms / 1000)
        progress = entry["callback"]
        error = "not attempted"
        try:
            async with self._client_factory() as client:
                for attempt in range(1 + CALLBACK_RETRIES):
                    if attempt:
                        await asyncio.sleep(CALLBACK_BACKOFF_S * 2 ** (attempt - 1))
                    progress["attempts"] = attempt + 1
                    try:
                        response = await client.post(url, json=payload)
                    except Exception as exc:  # noqa: BLE001 - any transport or URL error: retry
                        error = f"{type(exc).__name__}: {exc}"
                        continue
                    if response.is_success:
                        progress["state"] = "delivered"
                        return
                    error = f"callback answered HTTP {response.status_code}"
        except Exception as exc:  # noqa: BLE001 - the client could not be built or closed
            error = f"{type(exc).__name__}: {exc}"
        progress["state"] = "failed"
        progress["error"] = error
        state.record_callback_error(entry["id"], url, progress["attempts"], error)


def _callback_url(body: Any, request: Request) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("callback_url"), str) and body["callback_url"]:
        return body["callback_url"]
    return request.headers.get("x-callback-url") or None


def create_simulators_app(
    systems: Sequence[str] = DEFAULT_SYSTEMS,
    *,
    callback_client_factory: CallbackClientFactory | None = None,
    callback_prefix: str | None = None,
) -> FastAPI:
    """Build the simulators app for ``systems``.

    ``callback_client_factory`` builds the ``httpx.AsyncClient`` that posts asynchronous
    replies (tests inject one with an ASGI or mock transport); by default
    ``httpx.AsyncClient(timeout=5)``. The registry and dispatcher are on ``app.state``.
    ``callback_prefix``: asynchronous replies go only to URLs that start with it (serve
    gives its own callback route), so that no client makes the simulators post elsewhere
    (a request naming another callback URL is refused with 400 and changes nothing).
    """
    registry = SimulatorRegistry(systems)
    dispatcher = CallbackDispatcher(callback_client_factory)
    app = FastAPI(
        title="ordertower fulfillment-system simulators",
        docs_url=None, redoc_url=None, openapi_url=None,
    )
    app.state.registry = registry
    app.state.callbacks = dispatcher

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), kind="http-error")

    @app.exception_handler(Exception)
    async def unexpected_problem(_: Request, exc: Exception) -> JSONResponse:
        return problem(500, f"Simulator error: {type(exc).__name__}", kind="internal-error")

    @app.get("/")
    async def list_systems() -> dict[str, Any]:
        """Every simulated system with its settings and counters."""
        return {
            "systems": [
                {
                    "name": s.name,
                    "settings": s.settings.as_dict(),
                    "request_count": len(s.requests),
                    "in_flight": s.in_flight,
                    "peak_in_flight": s.peak_in_flight,
                    "callback_error_count": len(s.callback_errors),
                }
                for s in registry
            ]
        }

    @app.get("/{system}")
    async def show_system(system: str, request: Request) -> Any:
        """Settings, recorded requests (``?limit=N`` for the last N) and callback errors."""
        state = registry.get(system)
        if state is None:
            return _unknown_system(system)
        raw_limit = request.query_params.get("limit")
        limit: int | None = None
        if raw_limit is not None:
            try:
                limit = whole_number(raw_limit, 0, MAX_RECORDED_LIMIT)
            except ValueError as exc:
                return problem(
                    422, f"limit: {exc}.", kind="invalid-query",
                    errors=[FieldError("limit", str(exc))],
                )
        return state.snapshot(limit, show_tokens=_sees_tokens(request))

    @app.put("/{system}")
    async def change_settings(system: str, request: Request) -> Any:
        """Partial settings update; any bad field refuses the whole update."""
        state = registry.get(system)
        if state is None:
            return _unknown_system(system)
        try:
            patch = json.loads(await request.body())
        except (ValueError, RecursionError):
            return problem(
                400, "The body is not valid JSON.", kind="malformed-json",
                errors=[FieldError("body", "malformed JSON")],
            )
        try:
            changes = validate_settings_patch(patch)
        except SettingsError as exc:
            return problem(
                422, f"Settings refused, nothing changed: {exc}", kind="invalid-settings",
                title="Invalid settings", errors=exc.errors,
            )
        state.update_settings(changes)
        return {"system": state.name, "settings": state.settings.as_dict()}

    @app.delete("/{system}")
    async def reset_system(system: str) -> Any:
        """Default settings, no recorded requests, replies or callback errors."""
        state = registry.get(system)
        if state is None:
            return _unknown_system(system)
        state.reset()
        return {"system": state.name, "settings": state.settings.as_dict()}

    @app.api_route("/{system}/{path:path}", methods=FULFILLMENT_METHODS)
    async def fulfil(system: str, path: str, request: Request) -> Any:
        """A fulfillment request: record, maybe fail, wait, then answer or accept."""
        state = registry.get(system)
        if state is None:
            return _unknown_system(system)
        body, raw_body = _parse_body(await request.body())
        wanted = _callback_url(body, request)
        if callback_prefix is not None and wanted is not None and not wanted.startswith(callback_prefix):
            return problem(
                400, f"Asynchronous replies go to ordertower's callback route only "
                     f"({callback_prefix}...); nothing was recorded.", kind="bad-callback-url",
                errors=[FieldError("callback_url", f"must start with {callback_prefix}")],
            )
        key = request.headers.get("idempotency-key")
        rel_path = "/" + path
        entry = state.record(
            method=request.method, path=rel_path, query=request.url.query,
            headers=request.headers, idempotency_key=key, body=body, raw_body=raw_body,
        )

        def answer(status: int, content: dict[str, Any]) -> JSONResponse:
            entry["status"] = status
            entry["answered_at"] = utc_now_iso()
            return JSONResponse(content, status_code=status)

        def fail(reason: str) -> JSONResponse:
            entry["status"] = 503
            entry["answered_at"] = utc_now_iso()
            entry["failure"] = reason
            detail = (
                f"The {system} system is offline."
                if reason == "offline"
                else f"The {system} system failed the request (simulated {reason})."
            )
            return problem(503, detail, kind=f"simulated-{reason.replace('_', '-')}")

        # inside the system from here until answered, failed or cancelled (never leaks)
        state.entered()
        try:
            reason = state.failure_reason()
            if reason == "offline":
                return fail(reason)
            if state.settings.latency_ms:
                try:
                    await asyncio.sleep(state.settings.latency_ms / 1000)
                except asyncio.CancelledError:  # the server shuts down: answer, don't crash
                    return fail("shutdown")
            if reason is not None:
                return fail(reason)

            # No await from here on: the idempotency check and store are atomic on the loop.
            reply = state.stored_reply(rel_path, key) if key is not None else None
            if reply is not None:
                entry["replayed"] = True
            else:
                status = 201 if request.method == "POST" else 200
                reply = Reply(status, success_body(system, request.method, rel_path, key, body))
                if key is not None:
                    state.remember_reply(rel_path, key, reply)
            entry["response_id"] = reply.body["id"]

            callback_url = wanted if state.settings.async_reply else None
            if callback_url is not None:
                dispatcher.schedule(
                    state, entry, callback_url, {"status": "completed", "result": reply.body},
                    state.settings.async_delay_ms,
                )
                return answer(202, {"id": reply.body["id"], "status": "accepted"})
            return answer(reply.status, reply.body)
        finally:
            state.left()

    return app
