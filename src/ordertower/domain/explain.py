"""The explorer: what an order would become, without storing anything.

``explain`` decomposes validated order items with tracing on and plans them, then arranges
the result as a tree: each order item (bundles nest their children), the rules tried on it
(which fired, and why the others did not), the lines they made with each attribute's value
and how it was mapped, the rules tried on those lines, and so on down to the leaves; then
the plan it would build. A shared line (order or account scope) is shown in full under the
first item that reaches it and referred to under the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .catalog import Catalog
from .durations import format_duration
from .decomposition import Decomposition, RuleEvaluation, decompose
from .errors import DomainError
from .inventory import InstalledBase
from .orders import OrderItem, roots_with_asset_changes
from .planning import Plan, build_plan


@dataclass
class Explanation:
    catalog_version: str
    customer_id: str | None
    items: list[dict[str, Any]]  # the tree, one node per root order item
    plan: list[dict[str, Any]]
    problems: list[dict[str, str]] = field(default_factory=list)  # why no plan could be built
    installed_base: bool = False  # whether actions were derived from the installed base

    def as_dict(self) -> dict[str, Any]:
        return {"catalog_version": self.catalog_version, "customer": self.customer_id,
                "installed_base": self.installed_base, "stored": False,
                "items": self.items, "plan": {"items": self.plan, "problems": self.problems}}


def explain(items: list[OrderItem], catalog: Catalog, customer_id: str | None,
            installed: InstalledBase | None, *, catalog_version: str) -> Explanation:
    decomposition = decompose(items, catalog, customer_id, installed, trace=True)
    roots = [i.id for i in items if i.offering_id is not None and _root(i, items) == i.id]
    problems: list[dict[str, str]] = []
    try:
        plan = build_plan(decomposition, catalog, sorted(roots),
                          asset_roots=roots_with_asset_changes(items, installed) if installed else None)
    except DomainError as exc:
        plan = Plan([])
        problems = [i.as_dict() for i in exc.issues] or [{"field": "plan", "message": exc.detail}]
    tree = _Tree(items, decomposition, plan)
    return Explanation(catalog_version, customer_id,
                       [tree.item(i) for i in items if i.parent_id is None or i.parent_id not in tree.by_id],
                       [_plan_item(p) for p in plan.items], problems, installed is not None)


def _root(item: OrderItem, items: list[OrderItem]) -> str:
    parents = {i.id: i.parent_id for i in items}
    seen, current = {item.id}, item.id
    while parents.get(current) and parents[current] not in seen:
        current = parents[current]  # type: ignore[assignment]
        seen.add(current)
    return current


def _plan_item(p) -> dict[str, Any]:
    expected = p.expected_duration_s
    return {"key": p.key, "name": p.name, "type": p.type, "system": p.system, "ponr": p.ponr,
            "line": p.line_id, "depends_on": list(p.depends_on),
            "skipped": p.skip_reason,
            # as catalog files write durations ('2d', '1h')
            "expected_duration": format_duration(timedelta(seconds=expected)) if expected else None}


class _Tree:
    def __init__(self, items: list[OrderItem], decomposition: Decomposition, plan: Plan):
        self.by_id = {i.id: i for i in items}
        self.children: dict[str, list[OrderItem]] = {}
        for item in items:
            if item.parent_id in self.by_id:
                self.children.setdefault(item.parent_id, []).append(item)
        self.lines = {ln.id: ln for ln in decomposition.lines}
        self.notes = decomposition.mapping_notes
        self.tried: dict[str, list[RuleEvaluation]] = {}
        seen: set[tuple[str, str, bool, str | None]] = set()
        for e in decomposition.evaluations:
            key = (e.rule_id, e.source, e.fired, e.line_id)
            if key not in seen:
                seen.add(key)
                self.tried.setdefault(e.source, []).append(e)
        self.work: dict[str, list[str]] = {}
        for p in plan.items:
            if p.line_id:
                self.work.setdefault(p.line_id, []).append(p.key)
        self.shown: set[str] = set()

    def item(self, item: OrderItem) -> dict[str, Any]:
        return {"item": item.id, "action": item.action, "offering": item.offering_id,
                "instance": item.instance, "quantity": item.quantity,
                "attributes": dict(item.attributes), "asset": item.product_id,
                "rules": [self.rule(e) for e in self.tried.get(item.id, [])],
                "children": [self.item(c) for c in self.children.get(item.id, [])]}

    def rule(self, e: RuleEvaluation) -> dict[str, Any]:
        return {"rule": e.rule_id, "fired": e.fired, "why": e.reason,
                "line": self.line(e.line_id) if e.line_id else None}

    def line(self, line_id: str) -> dict[str, Any]:
        ln = self.lines[line_id]
        node: dict[str, Any] = {"id": ln.id, "technical_product": ln.technical_product,
                                "action": ln.action, "scope": ln.scope}
        if line_id in self.shown:
            return node | {"shared": True}
        self.shown.add(line_id)
        notes = self.notes.get(line_id, {})
        attributes = {name: {"value": value, "how": notes.get(name, "installed")}
                      for name, value in ln.attributes.items()}
        attributes |= {name: {"value": None, "how": how} for name, how in notes.items()
                       if name not in ln.attributes}
        return node | {"reason": ln.reason, "inventory_key": ln.inventory_key,
                       "lineage": list(ln.lineage), "attributes": attributes,
                       "previous": ln.previous, "plan_items": self.work.get(line_id, []),
                       "rules": [self.rule(e) for e in self.tried.get(line_id, [])]}
