"""What a plan item must do, typed: the part of its scenario item it carries (request,
retry policy, queue, time-out, ...) and the bookkeeping the engine adds later (an operator's
edited request, the undo it is or has). Frozen: a change is a new spec (``evolve``).

The store maps it to and from JSON (adapters/store/item_specs.py); nothing reads a spec by
string key."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, Mapping

from .catalog import Attribute, Request, RetryPolicy

CompensationStrategy = Literal["undo", "ignore", "redo", "manual"]


@dataclass(frozen=True)
class EditedRequest:
    """The request body an operator edited before retrying an item in fallout."""

    body: Any


@dataclass(frozen=True)
class ItemSpec:
    # from the scenario item
    request: Request | None = None  # callout: what to send
    compensation: Request | None = None  # callout: what undoes it
    retry: RetryPolicy | None = None  # the item's, else its system's
    outputs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    step: str | None = None  # auto: the registered step
    queue: str | None = None  # manual: the work queue declared
    fields: tuple[Attribute, ...] | None = None  # manual: what completing the task fills in
    reply: Literal["sync", "async"] = "sync"  # callout: answer now, or by callback
    timeout_s: float | None = None  # waiting items: callback, task or condition time-out
    until: str | None = None  # wait: the condition over line attributes
    after_order: str | None = None  # wait: the milestone of related orders
    check_every_s: float = 5.0  # wait: how often the condition is re-checked
    compensate: CompensationStrategy | None = None  # what a revision does to completed work
    compensation_queue: str | None = None  # manual compensation: where the task goes
    soft_ponr: bool | None = None  # once started, a change is accepted with a warning
    # engine bookkeeping
    compensates: str | None = None  # this item undoes that plan item
    compensated_by: str | None = None  # this item's undo, planned by a revision
    line_revision: int | None = None  # an undo reads the line of the revision it undoes
    request_override: EditedRequest | None = None  # an operator's edit (fallout: retry with edits)
    attempt_offset: int = 0  # attempts made before an operator's retry (the policy restarts)
    root_item_id: str | None = None  # assetize: the bundle whose assets it records
    installed_base: Mapping[str, Any] | None = None  # plan-order: what the order was checked against
    # assetize: what it wrote to the installed base (inventory.recorded_change), to restore
    # it when its bundle is withdrawn
    recorded: tuple[Mapping[str, Any], ...] | None = None

    def evolve(self, **changes: Any) -> "ItemSpec":
        return replace(self, **changes)

    def strategy(self) -> CompensationStrategy:
        """What a revision does with this item's completed work: the declared strategy, else
        ``undo`` when a compensation is declared, ``redo`` otherwise."""
        if self.compensate:
            return self.compensate
        return "undo" if self.compensation is not None else "redo"

    def attempts_counted(self, attempts: int) -> int:
        """Attempts that count against the retry policy (an operator's retry starts afresh)."""
        return attempts - self.attempt_offset

    def with_override(self, body: Any) -> "ItemSpec":
        return self.evolve(request_override=EditedRequest(body))
