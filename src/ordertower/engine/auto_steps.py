"""In-process (``auto``) steps: what one is (its context, its result, how it fails), and the
``assetize`` step. Steps are found by name through Python entry points (engine/steps.py), the
built-in ones as any plug-in's; ``ordertower.plugins`` re-exports what a plug-in needs.

An auto step is a function (plain or ``async``) of a StepContext returning a StepResult. It
writes nothing to the database itself: what it produces (output data, assets to record) is
written by the engine in the same transaction that completes the item, so a crash can never
record half of it. An exception it raises is a failed attempt that may be retried (the item's
retry policy, then fallout with the exception's message); StepFailed with ``retryable=False``
sends the item to fallout at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Awaitable, Callable, Mapping, Union

from ..domain.clock import Clock
from ..domain.errors import DomainError
from ..domain.inventory import asset_changes
from .ports import HttpClient

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class StepOrder:
    """The order a step serves."""

    id: str
    external_id: str | None
    customer_id: str | None


@dataclass(frozen=True)
class StepLine:
    """The fulfillment line a step serves (its technical product, action and attributes)."""

    id: str
    technical_product: str
    action: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class StepItem:
    """The plan item being run. ``idempotency_key`` is stable across the retries of one item
    revision (as a callout's ``Idempotency-Key``): send it to the systems a step calls."""

    id: str
    key: str
    name: str
    step: str
    attempt: int
    system: str | None

    @property
    def idempotency_key(self) -> str:
        return self.id


@dataclass(frozen=True)
class StepContext:
    """What a step reads. Plug-ins use ``order``, ``line``, ``attributes``, ``item``, ``http``
    (an ``httpx.AsyncClient``), ``clock`` and ``system_url``; ``raw_order``, ``raw_item``,
    ``lines`` and ``catalog`` are the engine's rows, for the built-in steps."""

    order: StepOrder
    line: StepLine | None
    item: StepItem
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # the line's attributes (empty without a line)
    http: HttpClient | None = None  # an httpx.AsyncClient shared by the steps of a process
    clock: Clock | None = None
    system_url: str | None = None  # the base URL of the item's system (``system:``), if any
    raw_order: dict[str, Any] = field(default_factory=dict)  # id, customer_id, items, body...
    raw_item: dict[str, Any] = field(default_factory=dict)  # the plan item row (spec, ...)
    # every line of the revision, for ``assetize`` only (item_context.py): a step's cost must
    # not grow with the size of its order
    lines: list[dict[str, Any]] = field(default_factory=list)
    catalog: Any = None  # the running Catalog


@dataclass
class StepResult:
    """What a step produced. ``output`` is the item's output (shown in the plan; the scenario
    item's ``outputs`` copy its fields into the line's attributes)."""

    output: dict[str, Any] = field(default_factory=dict)
    # changes to the installed base (inventory.asset_changes records), written on completion
    assets: list[dict[str, Any]] = field(default_factory=list)
    # the lines and plan a deferred planning step made (plan_order.PlannedOrder)
    planned: Any = None


class StepFailed(DomainError):
    """A step's failure with a message; ``retryable=False`` (the default) means another
    attempt cannot help: the item goes to fallout at once. Any other exception a step raises
    is retryable."""

    def __init__(self, detail: str, retryable: bool = False):
        super().__init__(detail=detail, title="Auto step failed", kind="step-failed")
        self.retryable = retryable


AutoStep = Callable[[StepContext], Union[StepResult, Awaitable[StepResult]]]


def step_context(order: dict[str, Any], item: dict[str, Any], line: dict[str, Any] | None,
                 lines: list[dict[str, Any]], *, catalog: Any = None, http: HttpClient | None = None,
                 clock: Clock | None = None, system_url: str | None = None) -> StepContext:
    """The context of one run of ``item`` (engine rows in, typed views out)."""
    attributes = MappingProxyType(dict(line["attributes"])) if line else _EMPTY
    view = StepLine(line["line_id"], line["technical_product"], line["action"],
                    attributes) if line else None
    return StepContext(
        order=StepOrder(order["id"], order.get("external_id"), order.get("customer_id")),
        line=view, attributes=attributes,
        item=StepItem(item["id"], item["key"], item["name"], item["spec"].step or "",
                      item.get("attempts") or 0, item.get("system")),
        http=http, clock=clock, system_url=system_url, raw_order=order, raw_item=item,
        lines=lines, catalog=catalog)


def assetize(ctx: StepContext) -> StepResult:
    """Record what one bundle (root order item) changed in the installed base: its assets
    (TMF637 products) added, modified or terminated, and the technical inventory items its
    lines keep or leave (docs/catalog.md, "The installed base")."""
    root = ctx.raw_item["spec"].root_item_id
    changes = asset_changes(root, ctx.raw_order["items"], ctx.lines,
                            lambda lines: _billing_account(lines, ctx.catalog))
    return StepResult(output={"assets": len(changes)}, assets=changes)


def _billing_account(lines: list[dict[str, Any]], catalog: Any) -> str | None:
    """The id of the billing account among the lines realising an asset, if the catalog says
    which technical product is a billing account and the billing system returned its id."""
    if catalog is None:
        return None
    for line in lines:
        product = catalog.technical_by_id.get(line["technical_product"])
        if product is not None and product.billing_account_id:
            value = line["attributes"].get(product.billing_account_id)
            if value:
                return str(value)
    return None

