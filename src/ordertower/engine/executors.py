"""Executors: one per plan item type. Each turns an item into an Outcome; none writes to
the database (engine/recording.py does, in one transaction)."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from typing import Any, Callable, Mapping

from .. import metrics
from .ports import CalloutFailure, Callouts, HttpClient
from ..domain.catalog import Catalog
from ..domain.clock import Clock, SystemClock
from ..domain.conditions import MISSING
from ..domain.routing import route_queue
from ..domain.templates import render
from .auto_steps import AutoStep, StepFailed, StepResult, step_context
from .outcomes import Outcome, OutcomeKind

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
EXCERPT = 2000
# how long an ``async`` auto step may run when its item declares no ``timeout``
STEP_TIMEOUT_S = 60.0


def template_values(order: dict[str, Any], line: dict[str, Any] | None, item: dict[str, Any],
                    callback_url: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = dict(line["attributes"]) if line else {}
    values.update({"order.id": order["id"], "order.external_id": order.get("external_id"),
                   "customer.id": order.get("customer_id"), "item.id": item["id"],
                   "line.id": line["line_id"] if line else None,
                   "line.action": line["action"] if line else None, "callback_url": callback_url})
    values.update({f"previous.{k}": v for k, v in ((line or {}).get("previous") or {}).items()})
    return values


def routing_lookup(order: dict[str, Any], line: dict[str, Any] | None) -> Any:
    """What assignment-rule conditions read: the line's attributes, its action, the customer
    (id, type = the party's @referredType) and the order's category and priority."""
    body = order.get("body") or {}
    party = next((p for p in body.get("relatedParty", []) if isinstance(p, dict)
                  and str(p.get("role", "")).lower() == "customer"), {})
    known = {"customer.id": order.get("customer_id"), "customer.type": party.get("@referredType"),
             "order.category": body.get("category"), "order.priority": body.get("priority"),
             "action": line["action"] if line else None}
    attrs = line["attributes"] if line else {}

    def lookup(name: str) -> Any:
        value = known[name] if name in known else attrs.get(name)
        return MISSING if value is None else value

    return lookup


def resolve_base_url(base_url: str, substitutions: dict[str, str]) -> str:
    """Fill ``{simulators}``-style markers of a system's base URL from configuration."""
    for key, value in substitutions.items():
        base_url = base_url.replace("{" + key + "}", value.rstrip("/"))
    return base_url.rstrip("/")


def _retry_after(headers: dict[str, str]) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


def _not_json(resp) -> str | None:
    """What is wrong with a success's body, if it is not a JSON document (None: it is, or it
    is empty). A success whose body cannot be read is no success: its output is unknown."""
    if not resp.text.strip():
        return None
    ctype = {k.lower(): v for k, v in resp.headers.items()}.get("content-type", "")
    media = ctype.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return f"content type {media or '(none)'}, not JSON"
    if resp.body is None:
        return "a body that is not JSON"
    return None


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _message(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


class Executors:
    def __init__(self, catalog: Callable[..., Catalog], callouts: Callouts,
                 url_substitutions: dict[str, str], callback_base: str,
                 steps: Mapping[str, AutoStep], http: HttpClient | None = None,
                 clock: Clock | None = None):
        # catalog(version) -> the Catalog an order recorded (its ``catalog_version``)
        self._catalog = catalog
        self.steps = steps
        self.http = http  # what auto steps call other systems with (StepContext.http)
        self.clock = clock or SystemClock()
        self.callouts = callouts
        self.url_substitutions = url_substitutions
        self.callback_base = callback_base.rstrip("/")

    def catalog(self) -> Catalog:
        return self._catalog()

    def system_url(self, system_id: str, path: str) -> str:
        """The URL of ``path`` on a system (its base URL resolved)."""
        system = self._catalog().system_by_id[system_id]
        return resolve_base_url(system.base_url, self.url_substitutions) + path

    def callback_url(self, token: str) -> str:
        return f"{self.callback_base}/api/v1/callbacks/{token}"

    async def run(self, item: dict[str, Any], order: dict[str, Any], line: dict[str, Any] | None,
                  lines: list[dict[str, Any]], callback_url: str | None = None) -> Outcome:
        kind = item["type"]
        if kind == "callout":
            outcome = await self.callout(item, order, line, callback_url)
            system = item.get("system") or ""
            declared = self._catalog(order.get("catalog_version")).system_by_id.get(system)
            if declared is not None and outcome.request is not None:  # sent: the breaker judges
                outcome.breaker = declared.breaker
            metrics.CALLOUTS.labels(system, metrics.callout_outcome(outcome)).inc()
            if outcome.request is not None:  # a request was sent
                metrics.CALLOUT_SECONDS.labels(system).observe(outcome.duration_ms / 1000)
            return outcome
        if kind == "auto":
            return await self.auto(item, order, line, lines)
        if kind == "milestone":
            return Outcome.milestone(item)
        if kind == "manual":
            return self.manual(item, order, line)
        if kind == "wait":
            return Outcome(OutcomeKind.WAIT)
        return Outcome.failed(f"item type '{kind}' cannot be executed by this version of ordertower")

    def manual(self, item, order, line) -> Outcome:
        """A task for a person: routed to a queue now, offered to a member when the outcome is recorded."""
        catalog = self._catalog(order.get("catalog_version"))
        declared = item["spec"].queue or ""
        queue_id, rule = route_queue(declared, catalog, routing_lookup(order, line))
        queue = catalog.queue_by_id.get(queue_id)
        data = {"order": order["id"], "external_id": order.get("external_id"),
                "customer": order.get("customer_id"), "item": item["key"],
                "line": line["line_id"] if line else None,
                "attributes": dict(line["attributes"]) if line else {}}
        if item["spec"].fields:  # the form of the task: what completing it fills in
            data["fields"] = [f.model_dump(mode="json", exclude_none=True) for f in item["spec"].fields]
        return Outcome(OutcomeKind.TASK, task={
            "queue": queue_id, "routed_by": rule, "name": item["name"], "data": data,
            "members": list(queue.members) if queue else [],
            "strategy": queue.strategy if queue else "round-robin"})

    async def auto(self, item, order, line, lines) -> Outcome:
        """Run a registered step: an ``async`` one on the event loop (bounded by the item's
        ``timeout``, else STEP_TIMEOUT_S), a plain one in a thread (a large order's
        ``plan-order`` must not block the loop). StepFailed is the step's verdict; any other
        exception is a retryable failure carrying its message."""
        name = item["spec"].step or ""
        step = self.steps.get(name)
        if step is None:
            return Outcome.failed(f"unknown auto step '{name}'")
        catalog = self._catalog(order.get("catalog_version"))
        system = catalog.system_by_id.get(item["system"]) if item.get("system") else None
        ctx = step_context(order, item, line, lines, catalog=catalog, http=self.http,
                           clock=self.clock, system_url=resolve_base_url(
                               system.base_url, self.url_substitutions) if system else None)
        started = time.perf_counter()
        timeout = item["spec"].timeout_s or STEP_TIMEOUT_S
        try:
            if inspect.iscoroutinefunction(step):
                result = await asyncio.wait_for(step(ctx), timeout)
            else:
                result = await asyncio.to_thread(step, ctx)
                if inspect.isawaitable(result):  # a callable object with an async __call__
                    result = await asyncio.wait_for(result, timeout)
        except StepFailed as exc:
            return Outcome.failed(exc.detail, retryable=exc.retryable,
                                  duration_ms=_ms_since(started))
        except (TimeoutError, asyncio.TimeoutError):
            return Outcome.failed(f"auto step '{name}' did not finish within {timeout:g} s",
                                  retryable=True, duration_ms=_ms_since(started))
        except Exception as exc:  # a plug-in's failure: retried per the item's policy
            return Outcome.failed(f"auto step '{name}' failed: {_message(exc)}", retryable=True,
                                  duration_ms=_ms_since(started))
        if isinstance(result, dict):  # a plain mapping is taken as the output
            result = StepResult(output=result)
        if not isinstance(result, StepResult):
            return Outcome.failed(f"auto step '{name}' returned {type(result).__name__}, "
                                  "not a StepResult", duration_ms=_ms_since(started))
        try:
            json.dumps(result.output)
        except (TypeError, ValueError) as exc:
            return Outcome.failed(f"auto step '{name}' returned an output that is not JSON: {exc}",
                                  duration_ms=_ms_since(started))
        return Outcome.done(output=dict(result.output), assets=result.assets,
                            planned=result.planned, duration_ms=_ms_since(started))

    async def callout(self, item, order, line, callback_url: str | None = None) -> Outcome:
        spec = item["spec"].request
        system = self._catalog(order.get("catalog_version")).system_by_id.get(item["system"])
        if system is None:
            return Outcome.failed(f"system '{item['system']}' is not in the catalog")
        values = template_values(order, line, item, callback_url)
        url = resolve_base_url(system.base_url, self.url_substitutions) + render(spec.path, values)
        override = item["spec"].request_override
        if override is not None:  # an operator's edited request (fallout: retry with edits)
            body = override.body
        else:
            body = render(spec.body, values)
        if callback_url and isinstance(body, dict):
            body = {**body, "callback_url": callback_url}
        request = {"method": spec.method, "url": url, "body": body}
        headers = {"Idempotency-Key": item["id"], "X-Ordertower-Order": order["id"]}
        if callback_url:
            headers["X-Callback-Url"] = callback_url
        started = time.perf_counter()
        resp = await self.callouts.send(spec.method, url, json=body, headers=headers,
                                        timeout=system.timeout.total_seconds())
        duration = int((time.perf_counter() - started) * 1000)
        if isinstance(resp, CalloutFailure):
            if resp.kind == "timeout":
                return Outcome.failed(f"time-out: {resp.detail}", retryable=True, request=request,
                                      duration_ms=duration, timed_out=True)
            if resp.kind == "oversized":
                return Outcome.failed(f"{system.id} {resp.detail}", retryable=True, request=request,
                                      status_code=resp.status_code, duration_ms=duration)
            return Outcome.failed(f"connection error: {resp.detail}", retryable=True,
                                  request=request, transport_error=True, duration_ms=duration)
        excerpt = resp.text[:EXCERPT]
        common = {"request": request, "status_code": resp.status_code, "response_excerpt": excerpt,
                  "duration_ms": duration}
        if 200 <= resp.status_code < 300:
            garbage = _not_json(resp)
            if garbage:  # the system may be broken, or a proxy answered for it: try again
                return Outcome.failed(f"{system.id} answered {resp.status_code} with {garbage}",
                                      retryable=True, **common)
            output = resp.body if isinstance(resp.body, dict) else {"body": resp.body}
            accepted = resp.status_code == 202 and callback_url is not None
            return Outcome(OutcomeKind.ACCEPTED if accepted else OutcomeKind.DONE, output=output,
                           **common)
        detail = resp.body.get("detail") if isinstance(resp.body, dict) else None
        error = f"{system.id} answered {resp.status_code}" + (f": {detail}" if detail else "")
        if resp.status_code in RETRYABLE_STATUS:
            return Outcome.failed(error, retryable=True,
                           retry_after=_retry_after({k.lower(): v for k, v in resp.headers.items()}),
                           **common)
        return Outcome.failed(error, **common)


