"""Planning: fulfillment lines -> the plan, a DAG of plan items.

Each line contributes the items of the scenario for its technical product and action.
``after`` inside a scenario links items of the same line; ``after: [product.item]`` links to
that item on every line of that product which shares an order item (lineage) with this
line (e.g. activate the ``mobile-line`` after the ``sim-card`` of the same plan shipped).
A reference to a product with no line in the order links to nothing.

Then one ``assetize`` item per root order item (bundle) records the customer's assets
once every item serving that bundle is done. The plan is checked to be acyclic.
"""

from __future__ import annotations

from types import MappingProxyType

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, ScenarioItem, typed_value
from .conditions import MISSING
from .catalog_checks import find_cycle
from .decomposition import Decomposition, FulfillmentLine
from .errors import InvalidOrder, Issue, PlanNotAcyclic
from .item_spec import ItemSpec

ASSETIZE_STEP = "assetize"


@dataclass
class PlannedItem:
    key: str
    line_id: str | None
    step_id: str
    name: str
    type: str
    system: str | None
    ponr: bool
    depends_on: list[str]
    root_item_ids: list[str]
    expected_duration_s: float | None = None
    spec: ItemSpec = field(default_factory=ItemSpec)
    skip_reason: str | None = None  # planned as `skipped`: its condition was false

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "line_id": self.line_id, "step_id": self.step_id,
                "name": self.name, "type": self.type, "system": self.system, "ponr": self.ponr,
                "depends_on": list(self.depends_on), "root_item_ids": list(self.root_item_ids),
                "expected_duration_s": self.expected_duration_s, "spec": self.spec,
                "skip_reason": self.skip_reason}


@dataclass
class Plan:
    items: list[PlannedItem]

    def item(self, key: str) -> PlannedItem:
        return next(i for i in self.items if i.key == key)


def item_key(line_id: str, step_id: str) -> str:
    return f"{line_id}#{step_id}"


def _spec(item: ScenarioItem, catalog: Catalog) -> ItemSpec:
    system = catalog.system_by_id.get(item.system) if item.system else None
    return ItemSpec(
        request=item.request, compensation=item.compensation,
        retry=item.retry or (system.retry if system else None),
        outputs=MappingProxyType(dict(item.outputs)), step=item.step, queue=item.queue,
        reply=item.reply, timeout_s=item.timeout.total_seconds() if item.timeout else None,
        until=item.until, after_order=item.after_order,
        check_every_s=item.check_every.total_seconds(), compensate=item.compensation_strategy,
        compensation_queue=item.compensation_queue, fields=item.fields or None,
        soft_ponr=item.soft_ponr or None)


def _skip_reason(item: ScenarioItem, line: FulfillmentLine, catalog: Catalog) -> str | None:
    """Why an item is planned as skipped: its condition is false for this line."""
    if item.condition is None:
        return None

    def lookup(name: str) -> Any:
        if name == "action":
            return line.action
        if name not in line.attributes:
            return MISSING
        return typed_value(catalog.attribute_of(line.technical_product, name), line.attributes[name])

    return None if item.condition.evaluate(lookup) else f"condition is false: {item.when}"


def build_plan(decomposition: Decomposition, catalog: Catalog, root_item_ids: list[str], *,
               asset_roots: set[str] | None = None) -> Plan:
    """The plan of an order's lines. ``asset_roots``: the root items whose assets change
    even where no line has work (add, delete, a modified commercial attribute); a root with
    neither work nor such a change gets no ``assetize`` item. None: every root gets one."""
    items: list[PlannedItem] = []
    by_line: dict[str, dict[str, PlannedItem]] = {}
    missing: list[Issue] = []
    lines = decomposition.lines
    specs: dict[int, ItemSpec] = {}  # one spec per scenario item, shared (it is frozen)

    def spec_of(s_item: ScenarioItem) -> ItemSpec:
        if id(s_item) not in specs:
            specs[id(s_item)] = _spec(s_item, catalog)
        return specs[id(s_item)]
    for line in lines:
        if line.action == "noChange":
            continue
        scenario = catalog.scenario_by_key.get((line.technical_product, line.action))
        if scenario is None:
            if catalog.rules_by_source.get(line.technical_product):
                continue  # an intermediate product: its children carry the work
            missing.append(Issue(f"line {line.id}", f"no orchestration scenario for "
                                 f"{line.technical_product}/{line.action}"))
            continue
        fragment: dict[str, PlannedItem] = {}
        for s_item in scenario.items:
            planned = PlannedItem(
                key=item_key(line.id, s_item.id), line_id=line.id, step_id=s_item.id,
                name=s_item.name or f"{line.technical_product} {s_item.id}",
                type=s_item.type, system=s_item.system, ponr=s_item.ponr, depends_on=[],
                root_item_ids=list(line.root_item_ids),
                expected_duration_s=s_item.expected_duration.total_seconds()
                if s_item.expected_duration else None,
                spec=spec_of(s_item), skip_reason=_skip_reason(s_item, line, catalog))
            fragment[s_item.id] = planned
            items.append(planned)
        by_line[line.id] = fragment
    if missing:
        raise InvalidOrder(missing, detail="The catalog cannot fulfil this order.")

    scenario_items = {(s.product, s.action): {i.id: i for i in s.items} for s in catalog.scenarios}
    by_product_item: dict[tuple[str, str], list[FulfillmentLine]] = {}
    for line in lines:
        if line.id in by_line:
            for item_id in line.lineage:
                by_product_item.setdefault((line.technical_product, item_id), []).append(line)
    for line in lines:
        fragment = by_line.get(line.id)
        if not fragment:
            continue
        declared = scenario_items[(line.technical_product, line.action)]
        for step_id, planned in fragment.items():
            deps: list[str] = []
            for ref in declared[step_id].after:
                if "." not in ref:
                    deps.append(item_key(line.id, ref))
                    continue
                product, other_step = ref.split(".", 1)
                for other in _related_lines(line, by_product_item, product):
                    other_fragment = by_line.get(other.id, {})
                    if other_step in other_fragment:
                        deps.append(other_fragment[other_step].key)
            planned.depends_on = sorted(set(deps))

    serving_root: dict[str, list[str]] = {}
    for planned in items:
        for root in planned.root_item_ids:
            serving_root.setdefault(root, []).append(planned.key)
    for root in root_item_ids:
        serving = serving_root.get(root, [])
        if not serving and asset_roots is not None and root not in asset_roots:
            continue  # nothing to do and nothing to record: no plan item at all
        items.append(PlannedItem(
            key=f"assetize/{root}", line_id=None, step_id=ASSETIZE_STEP,
            name=f"Record assets of item {root}", type="auto", system=None, ponr=False,
            depends_on=sorted(serving), root_item_ids=[root],
            spec=ItemSpec(step=ASSETIZE_STEP, root_item_id=root)))

    graph = {i.key: set(i.depends_on) for i in items}
    cycle = find_cycle(graph)
    if cycle:
        raise PlanNotAcyclic(cycle)
    return Plan(_topological(items))


def _related_lines(line: FulfillmentLine, index: dict[tuple[str, str], list[FulfillmentLine]],
                   product: str) -> list[FulfillmentLine]:
    """The lines of ``product`` sharing an order item with ``line`` (planned lines only)."""
    found: dict[str, FulfillmentLine] = {}
    for item_id in line.lineage:
        for other in index.get((product, item_id), ()):
            if other.id != line.id:
                found.setdefault(other.id, other)
    return list(found.values())


def _topological(items: list[PlannedItem]) -> list[PlannedItem]:
    """Items in a stable topological order: by depth (an item comes one level after its
    deepest dependency), then in plan order. The plan is acyclic (checked before)."""
    by_key = {i.key: i for i in items}
    depth: dict[str, int] = {}
    for item in items:
        stack = [item.key]
        while stack:
            key = stack[-1]
            pending = [d for d in by_key[key].depends_on if d not in depth and d in by_key]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            depth[key] = 1 + max((depth[d] for d in by_key[key].depends_on if d in depth), default=-1)
    order = {i.key: n for n, i in enumerate(items)}
    return sorted(items, key=lambda i: (depth[i.key], order[i.key]))
