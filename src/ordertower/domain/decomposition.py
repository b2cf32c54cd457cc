"""Decomposition: order items -> fulfillment lines (technical products), as DESIGN.md says.

Rules are applied from each order item's commercial product, then from every technical
product they produce, until only leaves remain. A rule fires when the source's action is
among its ``actions`` and its condition holds. Its scope decides which line it produces:

- ``item``: one line per source line (the key is the source's key plus the target),
- ``root``: one line per root order item (bundle),
- ``order``: one line per order,
- ``account``: one line per customer account (e.g. one ``billing-account`` for many lines).

Lines produced twice under a shared scope are merged: their lineage is the union of the
order items they came from. Everything is deterministic: the same order and catalog give
the same lines, in the same order, with the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, Rule, coerce_value, typed_value
from .conditions import MISSING
from .orders import OrderItem, root_of


@dataclass
class FulfillmentLine:
    id: str
    technical_product: str
    action: str
    attributes: dict[str, Any]
    lineage: list[str]
    rule_ids: list[str]
    scope: str
    parent_line_id: str | None = None
    root_item_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "technical_product": self.technical_product, "action": self.action,
                "attributes": dict(self.attributes), "lineage": list(self.lineage),
                "rule_ids": list(self.rule_ids), "scope": self.scope,
                "parent_line_id": self.parent_line_id, "root_item_ids": list(self.root_item_ids)}


@dataclass(frozen=True)
class RuleEvaluation:
    """Why a rule did or did not fire for one source (for the explorer)."""

    rule_id: str
    source: str  # the order item id or line id the rule was tried on
    fired: bool
    reason: str
    line_id: str | None = None


@dataclass
class Decomposition:
    lines: list[FulfillmentLine]
    evaluations: list[RuleEvaluation]

    def line(self, line_id: str) -> FulfillmentLine:
        return next(line for line in self.lines if line.id == line_id)


@dataclass
class _Source:
    key: str
    product: str
    action: str
    attributes: dict[str, Any]
    lineage: list[str]
    roots: list[str]


def decompose(items: list[OrderItem], catalog: Catalog, customer_id: str | None) -> Decomposition:
    lines: dict[str, FulfillmentLine] = {}
    evaluations: list[RuleEvaluation] = []
    parents = {i.id: i.parent_id for i in items}

    def expand(src: _Source) -> None:
        for rule in catalog.rules_by_source.get(src.product, []):
            fired, reason = _fires(rule, src, catalog)
            if not fired:
                evaluations.append(RuleEvaluation(rule.id, src.key, False, reason))
                continue
            key = _scope_key(rule, src, customer_id)
            line = lines.get(key)
            if line is None:
                line = FulfillmentLine(
                    id=key, technical_product=rule.target, action=src.action,
                    attributes=_map(rule, src, catalog), lineage=list(src.lineage),
                    rule_ids=[rule.id], scope=rule.scope,
                    parent_line_id=src.key if src.key in lines else None,
                    root_item_ids=list(src.roots))
                lines[key] = line
            else:
                line.lineage = sorted(set(line.lineage) | set(src.lineage))
                line.root_item_ids = sorted(set(line.root_item_ids) | set(src.roots))
                if rule.id not in line.rule_ids:
                    line.rule_ids.append(rule.id)
            evaluations.append(RuleEvaluation(rule.id, src.key, True, reason, key))
            expand(_Source(key, line.technical_product, line.action, line.attributes,
                           list(line.lineage), list(line.root_item_ids)))

    for item in items:
        if item.offering_id is None:
            continue
        root = root_of(item.id, parents)
        expand(_Source(item.id, item.offering_id, item.action, dict(item.attributes),
                       [item.id], [root]))
    return Decomposition(list(lines.values()), evaluations)


def _fires(rule: Rule, src: _Source, catalog: Catalog) -> tuple[bool, str]:
    if src.action not in rule.actions:
        return False, f"action '{src.action}' is not among {', '.join(rule.actions)}"
    if rule.condition is None:
        return True, "no condition"

    def lookup(name: str) -> Any:
        if name == "action":
            return src.action
        value = src.attributes.get(name, MISSING)
        return typed_value(catalog.attribute_of(src.product, name), value) if value is not MISSING else MISSING

    if rule.condition.evaluate(lookup):
        return True, f"condition holds: {rule.when}"
    return False, f"condition is false: {rule.when}"


def _scope_key(rule: Rule, src: _Source, customer_id: str | None) -> str:
    if rule.scope == "item":
        return f"{src.key}/{rule.target}"
    if rule.scope == "root":
        return f"{src.roots[0]}/{rule.target}"
    if rule.scope == "order":
        return f"order/{rule.target}"
    return f"account:{customer_id or 'unknown'}/{rule.target}"


def _map(rule: Rule, src: _Source, catalog: Catalog) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if src.action == "delete":
        return out  # a disconnect carries no new data
    for name, mapping in rule.mappings.items():
        attr = catalog.attribute_of(rule.target, name)
        if mapping.kind == "copy":
            value = src.attributes.get(mapping.copy_ or "")
        elif mapping.kind == "constant":
            value = mapping.constant
        else:
            raw = src.attributes.get(mapping.from_ or "")
            key = None if raw is None else str(raw).lower() if isinstance(raw, bool) else str(raw)
            value = (mapping.values or {}).get(key, mapping.default) if key is not None else mapping.default
        if value is None:
            continue
        out[name] = coerce_value(attr, value) if attr is not None else value
    return out
