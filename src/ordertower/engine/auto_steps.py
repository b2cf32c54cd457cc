"""In-process (``auto``) steps: what one is, and the ``assetize`` step. The steps this
version offers, by name, are listed in engine/steps.py.

An auto step is a function of a StepContext returning a StepResult. It does no I/O of its
own: what it produces (output data, assets to record) is written by the engine in the same
transaction that completes the item, so a crash can never record half of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..domain.errors import DomainError
from ..domain.inventory import asset_changes


@dataclass(frozen=True)
class StepContext:
    order: dict[str, Any]  # id, customer_id, items (OrderItem dicts), external_id
    item: dict[str, Any]  # the plan item row (key, spec, root_item_ids...)
    line: dict[str, Any] | None  # the fulfillment line, if the item serves one
    lines: list[dict[str, Any]]  # every fulfillment line of the order
    catalog: Any = None  # the running Catalog


@dataclass
class StepResult:
    output: dict[str, Any] = field(default_factory=dict)
    # changes to the installed base (inventory.asset_changes records), written on completion
    assets: list[dict[str, Any]] = field(default_factory=list)
    # the lines and plan a deferred planning step made (plan_order.PlannedOrder)
    planned: Any = None


class StepFailed(DomainError):
    def __init__(self, detail: str, retryable: bool = False):
        super().__init__(detail=detail, title="Auto step failed", kind="step-failed")
        self.retryable = retryable


AutoStep = Callable[[StepContext], StepResult]


def assetize(ctx: StepContext) -> StepResult:
    """Record what one bundle (root order item) changed in the installed base: its assets
    (TMF637 products) added, modified or terminated, and the technical inventory items its
    lines keep or leave (docs/catalog.md, "The installed base")."""
    root = ctx.item["spec"].root_item_id
    changes = asset_changes(root, ctx.order["items"], ctx.lines,
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

