"""What running one plan item produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    ok: bool
    retryable: bool = False
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    request: dict[str, Any] | None = None
    status_code: int | None = None
    response_excerpt: str | None = None
    duration_ms: int = 0
    retry_after: float | None = None
    assets: list[dict[str, Any]] = field(default_factory=list)
    # the item is not done yet: it waits for a callback, a person (task) or a condition
    waiting: bool = False
    task: dict[str, Any] | None = None  # manual: queue, routed_by, name, data
    wait: bool = False  # wait item: the recorder evaluates its condition
    planned: Any = None  # plan-order: the lines and plan to store (plan_order.PlannedOrder)
    # the request could not be delivered (connection refused, reset): no reply was read
    transport_error: bool = False

    @property
    def kind(self) -> str:
        return "ok" if self.ok else ("retryable" if self.retryable else "fatal")
