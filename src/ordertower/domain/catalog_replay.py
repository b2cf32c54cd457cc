"""What a new catalog version would change on real orders (``catalog deploy --dry-run``).

Each stored order is replayed twice through the pure domain functions, with the catalog now
current and with the new one, from the same inputs (its validated items, the installed base
it was checked against): validation, decomposition and planning, nothing written. What
differs is the catalog's doing alone: lines added, removed or changed (which attributes),
plan items added, removed or changed, and orders the new catalog would refuse (or accept).
Every change is grouped under the rule that made the line it concerns, so a catalog author
sees, rule by rule, which orders and lines a change touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from .catalog import Catalog
from .decomposition import FulfillmentLine, decompose
from .errors import InvalidOrder
from .inventory import InstalledBase
from .orders import ItemInput, OrderItem, root_of, roots_with_asset_changes, validate_items
from .planning import Plan, PlannedItem, build_plan

NO_RULE = "(no rule)"  # a plan item of no line (e.g. assetize), or a line no rule made


@dataclass(frozen=True)
class StoredOrder:
    """What a replay needs of a stored order."""

    id: str
    customer_id: str | None
    items: list[dict[str, Any]]  # the order's validated items (orders.items)
    installed: InstalledBase


@dataclass
class Outcome:
    """One order under one catalog: its lines and plan, or why it is refused."""

    lines: dict[str, FulfillmentLine] = field(default_factory=dict)
    plan: dict[str, PlannedItem] = field(default_factory=dict)
    refused: str | None = None


@dataclass
class OrderChange:
    order: str
    lines_added: list[dict[str, Any]] = field(default_factory=list)
    lines_removed: list[dict[str, Any]] = field(default_factory=list)
    lines_changed: list[dict[str, Any]] = field(default_factory=list)
    plan_items_added: list[dict[str, Any]] = field(default_factory=list)
    plan_items_removed: list[dict[str, Any]] = field(default_factory=list)
    plan_items_changed: list[dict[str, Any]] = field(default_factory=list)
    refused: str | None = None  # the new catalog refuses it (the current one does not)
    accepted: bool = False  # the new catalog accepts it (the current one refuses it)

    def __bool__(self) -> bool:
        return bool(self.lines_added or self.lines_removed or self.lines_changed
                    or self.plan_items_added or self.plan_items_removed
                    or self.plan_items_changed or self.refused or self.accepted)

    def as_dict(self) -> dict[str, Any]:
        return {"order": self.order, "refused": self.refused, "accepted": self.accepted,
                "lines_added": self.lines_added, "lines_removed": self.lines_removed,
                "lines_changed": self.lines_changed, "plan_items_added": self.plan_items_added,
                "plan_items_removed": self.plan_items_removed,
                "plan_items_changed": self.plan_items_changed}


@dataclass
class RuleEffect:
    rule: str
    orders: set[str] = field(default_factory=set)
    lines_added: int = 0
    lines_removed: int = 0
    lines_changed: int = 0
    plan_items_changed: int = 0  # added, removed or changed

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "orders": sorted(self.orders), "lines_added": self.lines_added,
                "lines_removed": self.lines_removed, "lines_changed": self.lines_changed,
                "plan_items_changed": self.plan_items_changed}


@dataclass
class ReplayReport:
    replayed: int
    changes: list[OrderChange]

    @property
    def by_rule(self) -> list[RuleEffect]:
        effects: dict[str, RuleEffect] = {}

        def effect(rule: str, order: str) -> RuleEffect:
            e = effects.setdefault(rule, RuleEffect(rule))
            e.orders.add(order)
            return e

        for c in self.changes:
            for kind in ("lines_added", "lines_removed", "lines_changed"):
                for line in getattr(c, kind):
                    e = effect(line["rule"], c.order)
                    setattr(e, kind, getattr(e, kind) + 1)
            for kind in ("plan_items_added", "plan_items_removed", "plan_items_changed"):
                for item in getattr(c, kind):
                    effect(item["rule"], c.order).plan_items_changed += 1
        return sorted(effects.values(), key=lambda e: (-len(e.orders), e.rule))

    def as_dict(self) -> dict[str, Any]:
        changed = [c for c in self.changes if c]
        return {"orders_replayed": self.replayed, "orders_changed": len(changed),
                "orders_refused": [{"order": c.order, "reason": c.refused}
                                   for c in changed if c.refused],
                "orders_accepted": [c.order for c in changed if c.accepted],
                "rules": [e.as_dict() for e in self.by_rule],
                "orders": [c.as_dict() for c in changed]}


def inputs_of(items: Iterable[dict[str, Any]]) -> list[ItemInput]:
    """The order items as sent, from the validated ones stored: an item of quantity N that
    was stored as N instances is one input again."""
    inputs: list[ItemInput] = []
    seen: set[str] = set()
    for d in items:
        sent = d.get("item_of") or d["id"]
        if sent in seen:
            continue
        seen.add(sent)
        inputs.append(ItemInput(
            id=sent, action=d["action"], offering_id=d.get("offering_id"),
            characteristics=tuple((d.get("attributes") or {}).items()),
            product_id=d.get("product_id") if d["action"] != "add" else None,
            parent_id=d.get("parent_id"), changes_allowed=d.get("changes_allowed", True),
            quantity=d.get("quantity") if d.get("item_of") else None))
    return inputs


def outcome(order: StoredOrder, catalog: Catalog) -> Outcome:
    """Validate, decompose and plan a stored order with ``catalog`` (pure; nothing stored)."""
    assets = {d["id"]: d.get("asset_id") for d in order.items}
    try:
        items = validate_items(inputs_of(order.items), catalog, order.installed)
        # the assets the order was given (new ids would make every line differ)
        items = [replace(i, asset_id=assets.get(i.id) or i.asset_id) for i in items]
        parents = {i.id: i.parent_id for i in items}
        roots = sorted({root_of(i.id, parents) for i in items if i.offering_id is not None})
        decomposition = decompose(items, catalog, order.customer_id, order.installed,
                                  order_id=order.id)
        plan: Plan = build_plan(decomposition, catalog, roots,
                                asset_roots=roots_with_asset_changes(items, order.installed))
    except InvalidOrder as exc:
        return Outcome(refused="; ".join(f"{i.location}: {i.message}" for i in exc.issues) or exc.detail)
    return Outcome({line.id: line for line in decomposition.lines},
                   {item.key: item for item in plan.items})


def _rule(line: FulfillmentLine | None) -> str:
    return line.rule_ids[-1] if line is not None and line.rule_ids else NO_RULE


def _line(line: FulfillmentLine) -> dict[str, Any]:
    return {"line": line.id, "technical_product": line.technical_product, "action": line.action,
            "rule": _rule(line)}


def _plan_shape(item: PlannedItem) -> tuple:
    return (item.step_id, item.type, item.system, item.ponr, tuple(sorted(item.depends_on)),
            item.skip_reason, item.spec)


def compare(order_id: str, before: Outcome, after: Outcome) -> OrderChange:
    change = OrderChange(order_id)
    if before.refused or after.refused:
        if after.refused and not before.refused:
            change.refused = after.refused
        elif before.refused and not after.refused:
            change.accepted = True
        return change
    for key in sorted(after.lines.keys() - before.lines.keys()):
        change.lines_added.append(_line(after.lines[key]))
    for key in sorted(before.lines.keys() - after.lines.keys()):
        change.lines_removed.append(_line(before.lines[key]))
    for key in sorted(before.lines.keys() & after.lines.keys()):
        old, new = before.lines[key], after.lines[key]
        attrs = {n: [old.attributes.get(n), new.attributes.get(n)]
                 for n in sorted(old.attributes.keys() | new.attributes.keys())
                 if old.attributes.get(n) != new.attributes.get(n)}
        if attrs or old.action != new.action or old.technical_product != new.technical_product:
            change.lines_changed.append({**_line(new), "attributes": attrs,
                                         **({"action_before": old.action}
                                            if old.action != new.action else {})})
    lines = {**before.lines, **after.lines}

    def item(p: PlannedItem) -> dict[str, Any]:
        return {"key": p.key, "name": p.name, "type": p.type, "system": p.system,
                "line": p.line_id, "rule": _rule(lines.get(p.line_id or ""))}

    for key in sorted(after.plan.keys() - before.plan.keys()):
        change.plan_items_added.append(item(after.plan[key]))
    for key in sorted(before.plan.keys() - after.plan.keys()):
        change.plan_items_removed.append(item(before.plan[key]))
    for key in sorted(before.plan.keys() & after.plan.keys()):
        if _plan_shape(before.plan[key]) != _plan_shape(after.plan[key]):
            change.plan_items_changed.append(item(after.plan[key]))
    return change


def replay(orders: Iterable[StoredOrder], current: Catalog, new: Catalog) -> ReplayReport:
    """Every order under the current and the new catalog, and what differs."""
    changes, count = [], 0
    for order in orders:
        count += 1
        change = compare(order.id, outcome(order, current), outcome(order, new))
        if change:
            changes.append(change)
    return ReplayReport(count, changes)

