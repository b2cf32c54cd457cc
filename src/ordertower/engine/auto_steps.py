"""In-process (``auto``) steps, registered by name.

An auto step is a function of a StepContext returning a StepResult. It does no I/O of its
own: what it produces (output data, assets to record) is written by the engine in the same
transaction that completes the item, so a crash can never record half of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..domain.errors import DomainError


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
    assets: list[dict[str, Any]] = field(default_factory=list)


class StepFailed(DomainError):
    def __init__(self, detail: str, retryable: bool = False):
        super().__init__(detail=detail, title="Auto step failed", kind="step-failed")
        self.retryable = retryable


AutoStep = Callable[[StepContext], StepResult]
_REGISTRY: dict[str, AutoStep] = {}


def auto_step(name: str) -> Callable[[AutoStep], AutoStep]:
    def register(fn: AutoStep) -> AutoStep:
        _REGISTRY[name] = fn
        return fn
    return register


def registered_steps() -> dict[str, AutoStep]:
    return dict(_REGISTRY)


@auto_step("assetize")
def assetize(ctx: StepContext) -> StepResult:
    """Record the commercial assets (TMF637 products) of one root order item and its children."""
    root = ctx.item["spec"]["root_item_id"]
    parents = {i["id"]: i.get("parent_id") for i in ctx.order["items"]}

    def root_of(item_id: str) -> str:
        while parents.get(item_id):
            item_id = parents[item_id]
        return item_id

    assets = []
    for oi in ctx.order["items"]:
        if root_of(oi["id"]) != root or oi.get("offering_id") is None:
            continue
        realizing = [line for line in ctx.lines if oi["id"] in line["lineage"]]
        assets.append({"order_item_id": oi["id"], "offering_id": oi["offering_id"],
                       "action": oi["action"], "product_id": oi.get("product_id"),
                       "attributes": oi["attributes"],
                       "lines": [line["line_id"] for line in realizing],
                       "billing_account_id": _billing_account(realizing, ctx.catalog)})
    return StepResult(output={"assets": len(assets)}, assets=assets)


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
