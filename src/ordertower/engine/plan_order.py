"""Planning a large order after its acknowledgement: the ``plan-order`` auto step.

An order with more items than ``Settings.inline_planning_limit`` is stored ``acknowledged``
with one plan item, ``plan-order``. A worker runs it like any auto step: it decomposes the
order and builds its plan (pure domain functions, against the installed base read when the
order was placed), and ``record_plan`` writes the lines and the plan in the transaction that
completes the item. The order stays ``acknowledged`` until then. If the catalog cannot
fulfil the order, it is ``rejected`` with the reason, as a small order would have been refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..collector import collector_paused
from ..domain.decomposition import FulfillmentLine, decompose
from ..domain.errors import InvalidOrder
from ..domain.inventory import InstalledBase
from ..domain.orders import OrderItem, root_of, roots_with_asset_changes
from ..domain.planning import Plan, PlannedItem, build_plan
from ..domain.service_levels import apply_learned, expected_completion, planned_rows
from ..domain.item_spec import ItemSpec
from ..domain.lifecycle import OrderState
from .auto_steps import StepContext, StepResult
from .transitions import transition_order
from .ports import UnitOfWork

PLAN_ORDER_STEP = "plan-order"
INLINE_PLANNING_LIMIT = 500  # order items planned in the request; more: by a worker
GC_PAUSE_ITEMS = 1000  # from this size, plan with the garbage collector paused (collector.py)


@dataclass
class PlannedOrder:
    lines: list[FulfillmentLine] = field(default_factory=list)
    plan: Plan = field(default_factory=lambda: Plan([]))
    catalog_version: str | None = None
    rejection: str | None = None  # why the catalog cannot fulfil the order


def planning_plan(installed: InstalledBase) -> Plan:
    """The plan of an order whose planning is deferred: one ``plan-order`` item, carrying the
    part of the installed base the order was validated against."""
    return Plan([PlannedItem(
        key=PLAN_ORDER_STEP, line_id=None, step_id=PLAN_ORDER_STEP,
        name="Decompose and plan the order", type="auto", system=None, ponr=False,
        depends_on=[], root_item_ids=[],
        spec=ItemSpec(step=PLAN_ORDER_STEP, installed_base=MappingProxyType(installed.as_dict())))])


def plan_items(items: list[OrderItem], catalog, customer_id: str | None, installed: InstalledBase,
               order_id: str) -> tuple[list[FulfillmentLine], Plan]:
    """Decompose and plan validated order items (raises InvalidOrder when the catalog
    cannot fulfil them). Used inline by place_order and deferred by ``plan-order``."""
    parents = {i.id: i.parent_id for i in items}
    roots = sorted({root_of(i.id, parents) for i in items if i.offering_id is not None})
    with collector_paused(len(items) >= GC_PAUSE_ITEMS):
        decomposition = decompose(items, catalog, customer_id, installed, order_id=order_id)
        plan = build_plan(decomposition, catalog, roots,
                          asset_roots=roots_with_asset_changes(items, installed))
    return decomposition.lines, plan


def plan_order(ctx: StepContext) -> StepResult:
    items = [OrderItem.from_dict(i) for i in ctx.raw_order["items"]]
    installed = InstalledBase.from_dict(ctx.raw_item["spec"].installed_base
                                        or {"customer_id": ctx.order.customer_id})
    version = getattr(ctx.catalog, "release", None)
    try:
        lines, plan = plan_items(items, ctx.catalog, ctx.order.customer_id, installed,
                                 ctx.order.id)
    except InvalidOrder as exc:
        return StepResult(output={"rejected": str(exc)},
                          planned=PlannedOrder(catalog_version=version, rejection=str(exc)))
    return StepResult(output={"lines": len(lines), "plan_items": len(plan.items)},
                      planned=PlannedOrder(lines, plan, version))


def record_plan(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], planned) -> None:
    """Write what the ``plan-order`` step made for a large order (engine/plan_order.py): its
    lines and plan, after the planning item; or its rejection."""
    now = uow.clock.now()
    if planned.rejection:
        transition_order(uow, order, OrderState.REJECTED, planned.rejection,
                         state_reason=planned.rejection)
        return
    apply_learned(planned.plan.items, planned.lines, uow.service_levels.learned())
    # the plan now known may end later than the lead times promised at the acknowledgement
    start = max(order["created_at"], order.get("requested_start_date") or order["created_at"])
    path_end = expected_completion(planned_rows(planned.plan.items), [], start)
    promised = order.get("expected_completion_date")
    if path_end is not None and (promised is None or path_end > promised):
        uow.orders.update(order["id"], expected_completion_date=path_end)
    with collector_paused(len(planned.lines) >= 1000):  # tens of thousands of rows
        uow.orders.add_lines(order["id"], row["revision"], planned.lines)
        uow.plan.add_plan(order["id"], row["revision"], planned.plan, now,
                          not_before=order.get("requested_start_date"),
                          first_position=row["position"] + 1)
    if planned.catalog_version:
        uow.orders.update(order["id"], catalog_version=planned.catalog_version)
