"""Executors: one per plan item type. Each turns an item into an Outcome; none writes to
the database (the recorder does, in one transaction)."""

from __future__ import annotations

import time
from typing import Any, Callable

import httpx

from ..adapters.callouts import HttpCallouts, resolve_base_url
from ..domain.catalog import Catalog
from ..domain.templates import render
from .auto_steps import StepContext, StepFailed, registered_steps
from .outcomes import Outcome

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
EXCERPT = 2000


def template_values(order: dict[str, Any], line: dict[str, Any] | None, item: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = dict(line["attributes"]) if line else {}
    values.update({"order.id": order["id"], "order.external_id": order.get("external_id"),
                   "customer.id": order.get("customer_id"), "item.id": item["id"],
                   "line.id": line["line_id"] if line else None,
                   "line.action": line["action"] if line else None, "callback_url": None})
    return values


def _retry_after(headers: dict[str, str]) -> float | None:
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


class Executors:
    def __init__(self, catalog: Callable[[], Catalog], callouts: HttpCallouts,
                 url_substitutions: dict[str, str]):
        self._catalog = catalog
        self.callouts = callouts
        self.url_substitutions = url_substitutions
        self.steps = registered_steps()

    async def run(self, item: dict[str, Any], order: dict[str, Any], line: dict[str, Any] | None,
                  lines: list[dict[str, Any]]) -> Outcome:
        kind = item["type"]
        if kind == "callout":
            return await self.callout(item, order, line)
        if kind == "auto":
            return self.auto(item, order, line, lines)
        if kind == "milestone":
            return Outcome(ok=True, output={"milestone": item["key"]})
        return Outcome(ok=False, retryable=False,
                       error=f"item type '{kind}' cannot be executed by this version of ordertower")

    def auto(self, item, order, line, lines) -> Outcome:
        step = self.steps.get(item["spec"].get("step") or "")
        if step is None:
            return Outcome(ok=False, error=f"unknown auto step '{item['spec'].get('step')}'")
        started = time.perf_counter()
        ctx = StepContext(order=order, item=item, line=line, lines=lines, catalog=self._catalog())
        try:
            result = step(ctx)
        except StepFailed as exc:
            return Outcome(ok=False, retryable=exc.retryable, error=exc.detail)
        return Outcome(ok=True, output=result.output, assets=result.assets,
                       duration_ms=int((time.perf_counter() - started) * 1000))

    async def callout(self, item, order, line) -> Outcome:
        spec = item["spec"]["request"]
        system = self._catalog().system_by_id.get(item["system"])
        if system is None:
            return Outcome(ok=False, error=f"system '{item['system']}' is not in the catalog")
        values = template_values(order, line, item)
        url = resolve_base_url(system.base_url, self.url_substitutions) + render(spec["path"], values)
        body = render(spec.get("body"), values)
        request = {"method": spec["method"], "url": url, "body": body}
        headers = {"Idempotency-Key": item["id"], "X-Ordertower-Order": order["id"]}
        started = time.perf_counter()
        try:
            resp = await self.callouts.send(spec["method"], url, json=body, headers=headers,
                                            timeout=system.timeout.total_seconds())
        except httpx.TimeoutException as exc:
            return Outcome(ok=False, retryable=True, request=request, error=f"time-out: {exc!r}",
                           duration_ms=int((time.perf_counter() - started) * 1000))
        except httpx.HTTPError as exc:
            return Outcome(ok=False, retryable=True, request=request,
                           error=f"connection error: {exc!r}",
                           duration_ms=int((time.perf_counter() - started) * 1000))
        duration = int((time.perf_counter() - started) * 1000)
        excerpt = resp.text[:EXCERPT]
        common = {"request": request, "status_code": resp.status_code, "response_excerpt": excerpt,
                  "duration_ms": duration}
        if 200 <= resp.status_code < 300:
            output = resp.body if isinstance(resp.body, dict) else {"body": resp.body}
            return Outcome(ok=True, output=output, **common)
        detail = resp.body.get("detail") if isinstance(resp.body, dict) else None
        error = f"{system.id} answered {resp.status_code}" + (f": {detail}" if detail else "")
        if resp.status_code in RETRYABLE_STATUS:
            return Outcome(ok=False, retryable=True, error=error,
                           retry_after=_retry_after({k.lower(): v for k, v in resp.headers.items()}),
                           **common)
        return Outcome(ok=False, retryable=False, error=error, **common)


