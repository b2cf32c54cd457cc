"""Decomposition: order items -> fulfillment lines (technical products), as DESIGN.md says.

Rules are applied from each order item's commercial product, then from every technical
product they produce, until only leaves remain (multi-level: commercial -> customer-facing
service -> resource). A rule applies to a source whose order item's action (the *intent*)
is among its ``actions``; it fires when its condition holds. Its scope decides which line
it produces:

- ``item``: one line per source (the key is the source's key plus the target),
- ``root``: one line per root order item (bundle),
- ``order``: one line per order,
- ``account``: one line per customer account (e.g. one ``billing-account`` for many lines).

Lines produced twice under a shared scope are merged (M:1): their lineage is the union of
the order items they came from, and when the sources map different values to one attribute,
that mapping's ``merge`` policy decides: ``error`` (the default) refuses the order naming
both items and both values; ``first``, ``last``, ``max``, ``min`` or ``list`` choose. Conditions and mappings read the source's attributes, the
intent (``action``) and, written ``product.attribute``, the attributes of a related item:
an ancestor of the source, or an order item of the same bundle.

With the customer's installed base, each line's own action is derived by comparing it with
the inventory (``inventory.derive_line_action``): ``add``, ``modify``, ``noChange`` or
``delete``; a rule that applies but whose condition no longer holds for an item it made
before disconnects that item. Without one, a line's action is its intent.

Everything is deterministic: the same order, catalog and installed base give the same
lines, in the same order, with the same ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Attribute, Catalog, Mapping, Rule, coerce_value, typed_value
from .conditions import MISSING
from .errors import InvalidOrder, Issue
from .expressions import plain
from .inventory import (InstalledBase, account_anchor, derive_line_action, inventory_key,
                        new_asset_anchor, order_anchor)
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
    inventory_key: str | None = None  # where the installed base keeps it (stable across orders)
    previous: dict[str, Any] | None = None  # the installed attributes before this order
    reason: str | None = None  # why this action (derived from the installed base)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "technical_product": self.technical_product, "action": self.action,
                "attributes": dict(self.attributes), "lineage": list(self.lineage),
                "rule_ids": list(self.rule_ids), "scope": self.scope,
                "parent_line_id": self.parent_line_id, "root_item_ids": list(self.root_item_ids),
                "inventory_key": self.inventory_key,
                "previous": dict(self.previous) if self.previous is not None else None,
                "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FulfillmentLine":
        return cls(**{k: d.get(k) for k in ("id", "technical_product", "action", "attributes",
                                             "lineage", "rule_ids", "scope", "parent_line_id",
                                             "root_item_ids", "inventory_key", "previous", "reason")})


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
    # line id -> attribute -> how its value was mapped (only when decomposed with trace=True)
    mapping_notes: dict[str, dict[str, str]] = field(default_factory=dict)

    def line(self, line_id: str) -> FulfillmentLine:
        return next(line for line in self.lines if line.id == line_id)


@dataclass
class _Source:
    key: str  # the order item id, or the line id
    product: str
    intent: str  # the action of the order item(s) it comes from
    attributes: dict[str, Any]
    lineage: tuple[str, ...]  # order items to add to what it makes
    roots: tuple[str, ...]
    ancestors: tuple[tuple[str, dict[str, Any]], ...]  # (product, attributes), nearest first
    anchor: str  # inventory anchor of the item-scope lines it makes
    path: tuple[str, ...]
    leaving: bool = False  # it gives up what it makes (a disconnect)


@dataclass
class _Building:
    line: FulfillmentLine
    anchor: str
    path: tuple[str, ...]
    lineage: dict[str, None]
    roots: dict[str, None]
    keepers: dict[str, None] = field(default_factory=dict)  # order items wanting it
    leavers: dict[str, None] = field(default_factory=dict)  # order items giving it up
    mapped: dict[str, Any] = field(default_factory=dict)
    mapped_names: set[str] = field(default_factory=set)
    first_intent: str | None = None
    mapped_by: dict[str, dict[str, Any]] = field(default_factory=dict)  # shared: per order item
    # M:1: per attribute, what each source mapped (source label, value), and the merge
    # policy that decides (the first rule mapping it says)
    offered: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)  # (trace only)
    chosen_by: dict[str, tuple[str, ...]] = field(default_factory=dict)  # whose value it holds
    policies: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (policy, rule)


class _Decomposer:
    def __init__(self, items: list[OrderItem], catalog: Catalog, customer_id: str | None,
                 installed: InstalledBase | None, order_id: str | None, trace: bool):
        self.catalog = catalog
        self.customer_id = customer_id
        self.installed = installed
        self.order_id = order_id
        self.trace = trace
        self.items = [i for i in items if i.offering_id is not None]
        self.by_id = {i.id: i for i in items}
        parents = {i.id: i.parent_id for i in items}
        self.root = {i.id: root_of(i.id, parents) for i in items}
        self.attributes = {i.id: self._current_attributes(i) for i in self.items}
        self.bundle: dict[str, list[OrderItem]] = {}
        for item in self.items:
            self.bundle.setdefault(self.root[item.id], []).append(item)
        self.building: dict[str, _Building] = {}
        self.shared: dict[str, str] = {}  # inventory key -> line id, for shared scopes
        self.evaluations: list[RuleEvaluation] = []
        self.notes: dict[str, dict[str, str]] = {}
        self.conflicts: dict[tuple[str, str], Issue] = {}  # (line, attribute) -> the refusal
        sent: dict[str, int] = {}
        for i in items:
            sent.setdefault(i.item_of or i.id, len(sent))
        self.position = {i.id: sent[i.item_of or i.id] for i in items}  # productOrderItem[n]

    # --- the installed base as the order sees it ------------------------------------

    def _current_attributes(self, item: OrderItem) -> dict[str, Any]:
        """A modify item gives only what changes: the rest is what the asset has."""
        asset = self.installed.assets.get(item.product_id) if self.installed and item.product_id else None
        if asset is None or item.action == "add":
            return dict(item.attributes)
        return dict(asset.attributes) | dict(item.attributes)

    def asset_of(self, item_id: str) -> str:
        item = self.by_id.get(item_id)
        if item is None:
            return new_asset_anchor(item_id)
        return item.asset_id or item.product_id or new_asset_anchor(item_id)

    def root_anchor(self, root_item_id: str) -> str:
        asset_id = self.asset_of(root_item_id)
        asset = self.installed.assets.get(asset_id) if self.installed else None
        return asset.root_asset_id if asset is not None and asset.root_asset_id else asset_id

    # --- expansion ---------------------------------------------------------------------

    def run(self) -> Decomposition:
        for item in self.items:
            ancestors = []
            parent = self.by_id.get(item.parent_id) if item.parent_id else None
            seen = {item.id}
            while parent is not None and parent.id not in seen and parent.offering_id:
                ancestors.append((parent.offering_id, self.attributes[parent.id]))
                seen.add(parent.id)
                parent = self.by_id.get(parent.parent_id) if parent.parent_id else None
            self.expand(_Source(
                key=item.id, product=item.offering_id or "", intent=item.action,
                attributes=self.attributes[item.id], lineage=(item.id,), roots=(self.root[item.id],),
                ancestors=tuple(ancestors), anchor=self.asset_of(item.id), path=(),
                leaving=item.action == "delete"))
        if self.conflicts:
            raise InvalidOrder(list(self.conflicts.values()),
                               "Order items feed one shared line with different values.")
        lines = [self.finish(b) for b in self.building.values()]
        return Decomposition(lines, self.evaluations, self.notes)

    def expand(self, src: _Source) -> None:
        lookup = self.lookup(src)
        for rule in self.catalog.rules_by_source.get(src.product, []):
            if src.intent not in rule.actions:
                self.evaluations.append(RuleEvaluation(
                    rule.id, src.key, False,
                    f"action '{src.intent}' is not among {', '.join(rule.actions)}"))
                continue
            if rule.condition is not None and not rule.condition.evaluate(lookup):
                why = f"condition is false: {rule.when}"
                line_id = self.disconnect_if_installed(rule, src)
                if line_id is not None:
                    why += "; it no longer holds for the installed item, which is disconnected"
                self.evaluations.append(RuleEvaluation(rule.id, src.key, False, why, line_id))
                continue
            why = f"condition holds: {rule.when}" if rule.condition is not None else "no condition"
            line_id = self.produce(rule, src, lookup, leaving=src.leaving)
            self.evaluations.append(RuleEvaluation(rule.id, src.key, True, why, line_id))

    def disconnect_if_installed(self, rule: Rule, src: _Source) -> str | None:
        """A rule that applies but no longer holds gives up the item it made before."""
        if self.installed is None or src.leaving:
            return None
        anchor, path = self.place(rule, src)
        existing = self.installed.items.get(inventory_key(anchor, path))
        if existing is None or not {self.asset_of(i) for i in src.lineage} & set(existing.assets):
            return None
        return self.produce(rule, src, self.lookup(src), leaving=True)

    def place(self, rule: Rule, src: _Source) -> tuple[str, tuple[str, ...]]:
        """The inventory anchor and path of the line a rule makes from a source."""
        if rule.scope == "item":
            return src.anchor, src.path + (rule.target,)
        if rule.scope == "root":
            return self.root_anchor(src.roots[0]), (rule.target,)
        if rule.scope == "order":
            return order_anchor(self.order_id), (rule.target,)
        return account_anchor(self.customer_id), (rule.target,)

    def line_id(self, rule: Rule, src: _Source) -> str:
        if rule.scope == "item":
            return f"{src.key}/{rule.target}"
        if rule.scope == "root":
            return f"{src.roots[0]}/{rule.target}"
        if rule.scope == "order":
            return f"order/{rule.target}"
        return f"account:{self.customer_id or 'unknown'}/{rule.target}"

    def produce(self, rule: Rule, src: _Source, lookup, *, leaving: bool) -> str:
        key = self.line_id(rule, src)
        b = self.building.get(key)
        if b is None and rule.scope != "item":
            # one line per installed item: a bundle's router reached from its root in one
            # order and from a child alone in another is the same line
            anchor, path = self.place(rule, src)
            key = self.shared.setdefault(inventory_key(anchor, path), key)
            b = self.building.get(key)
        if b is None:
            anchor, path = self.place(rule, src)
            b = _Building(
                line=FulfillmentLine(id=key, technical_product=rule.target, action=src.intent,
                                     attributes={}, lineage=[], rule_ids=[rule.id], scope=rule.scope,
                                     parent_line_id=src.key if src.key in self.building else None,
                                     inventory_key=inventory_key(anchor, path)),
                anchor=anchor, path=path, lineage={}, roots={})
            self.building[key] = b
        elif rule.id not in b.line.rule_ids:
            b.line.rule_ids.append(rule.id)
        new_items = [i for i in src.lineage if i not in b.lineage]
        for item_id in src.lineage:
            b.lineage.setdefault(item_id)
            (b.leavers if leaving else b.keepers).setdefault(item_id)
        for root in src.roots:
            b.roots.setdefault(root)
        if not leaving:
            first = b.first_intent is None
            values = self.map(rule, src, lookup, key)
            if first:  # the first source that wants the line maps it
                b.first_intent, b.mapped = src.intent, dict(values)
            self.merge(b, rule, values, src.lineage, first)
            if rule.scope != "item" and self.installed is not None:
                for item_id in src.lineage:
                    b.mapped_by.setdefault(item_id, values)
            b.mapped_names.update(rule.mappings)
        first_time = len(b.lineage) == len(new_items)
        if (first_time or new_items) and self.catalog.rules_by_source.get(rule.target):
            self.expand_children(b, src, tuple(new_items) if not first_time else tuple(b.lineage),
                                 leaving)
        return key

    def expand_children(self, b: _Building, src: _Source, lineage: tuple[str, ...], leaving: bool) -> None:
        existing = self.installed.items.get(b.line.inventory_key or "") if self.installed else None
        view = (dict(existing.attributes) if existing else {}) | ({} if leaving else b.mapped)
        self.expand(_Source(
            key=b.line.id, product=b.line.technical_product,
            intent="delete" if leaving else src.intent, attributes=view, lineage=lineage,
            roots=tuple(b.roots), ancestors=((src.product, src.attributes),) + src.ancestors,
            anchor=b.anchor, path=b.path, leaving=leaving))

    # --- conditions and mappings --------------------------------------------------------

    def lookup(self, src: _Source):
        attribute_of = self.catalog.attribute_of

        def get(name: str) -> Any:
            if name == "action":
                return src.intent
            if "." not in name:
                value = src.attributes.get(name, MISSING)
                return MISSING if value is MISSING else typed_value(attribute_of(src.product, name), value)
            product, attr = name.split(".", 1)
            for other, attrs in ((src.product, src.attributes),) + src.ancestors:
                if other == product:
                    return self._typed(product, attr, attrs)
            for item in self.bundle.get(src.roots[0], ()):
                if item.offering_id == product:
                    return self._typed(product, attr, self.attributes[item.id])
            return MISSING

        return get

    def _typed(self, product: str, attr: str, attrs: dict[str, Any]) -> Any:
        value = attrs.get(attr, MISSING)
        return MISSING if value is MISSING else typed_value(self.catalog.attribute_of(product, attr), value)

    def map(self, rule: Rule, src: _Source, lookup, line_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        notes: dict[str, str] = {}
        for name, mapping in rule.mappings.items():
            value, how = _mapped_value(mapping, lookup)
            attr = self.catalog.attribute_of(rule.target, name)
            if value is not None and attr is not None:
                try:
                    value = coerce_value(attr, value)
                except ValueError as exc:
                    how, value = f"{how}; not set: {exc}", None
            if value is not None:
                out[name] = value
            notes[name] = how
        if self.trace and line_id not in self.notes:
            self.notes[line_id] = notes
        return out

    # --- M:1: several sources, one line ---------------------------------------------------

    def merge(self, b: _Building, rule: Rule, values: dict[str, Any], lineage: tuple[str, ...],
              first: bool) -> None:
        """Fold what one more source maps into a shared line, attribute by attribute, by
        each mapping's merge policy (incremental: the cost does not grow with the sources)."""
        for name, mapping in rule.mappings.items():
            policy, rule_id = b.policies.setdefault(name, (mapping.merge, rule.id))
            if name not in values:
                continue
            value = values[name]
            if self.trace:
                b.offered.setdefault(name, []).append((_label(lineage), value))
            if first or name not in b.mapped:
                b.mapped[name] = [value] if policy == "list" else value
                b.chosen_by[name] = lineage
                continue
            current = b.mapped[name]
            if policy == "list":
                if value not in current:
                    current.append(value)
                continue
            if value == current or policy == "first":
                continue
            if policy == "last":
                b.mapped[name] = value
            elif policy in ("max", "min"):
                attr = self.catalog.attribute_of(b.line.technical_product, name)
                bigger = _order_key(attr, value) > _order_key(attr, current)
                if bigger == (policy == "max"):
                    b.mapped[name] = value
            elif policy == "error" and (b.line.id, name) not in self.conflicts:
                where = min((self.position.get(i, 0) for i in lineage), default=0)
                self.conflicts[(b.line.id, name)] = Issue(
                    f"productOrderItem[{where}]",
                    f"{b.line.id}.{name}: {_label(b.chosen_by[name])} maps {current!r}, "
                    f"{_label(lineage)} maps {value!r}; rule '{rule_id}' merges with 'error' "
                    "(set merge: first, last, max, min or list)")

    def merge_notes(self) -> None:
        """For the explorer: how each merged attribute was chosen, and which source won."""
        for b in self.building.values():
            notes = self.notes.get(b.line.id)
            if notes is None:
                continue
            for name, offered in b.offered.items():
                if len({_label_of_value(v) for _, v in offered}) < 2 or name not in notes:
                    continue
                policy = b.policies[name][0]
                chosen = b.mapped.get(name)
                sources = ", ".join(f"{lbl} = {v!r}" for lbl, v in offered)
                if policy == "list":
                    won = "every value kept"
                else:
                    won = next((f"{lbl} won" for lbl, v in (offered if policy != "last" else
                                                            reversed(offered)) if v == chosen), "")
                notes[name] = f"{notes[name]}; merged ({policy}) from {sources}: {won}"

    # --- the line's own action ------------------------------------------------------------

    def finish(self, b: _Building) -> FulfillmentLine:
        line = b.line
        line.lineage = sorted(b.lineage)
        line.root_item_ids = sorted(b.roots)
        if self.installed is None:
            line.action = b.first_intent or "delete"
            line.attributes = dict(b.mapped) if b.keepers else {}
            return line
        keepers = {self.asset_of(i) for i in b.keepers}
        leavers = {self.asset_of(i) for i in b.leavers}
        existing = self.installed.items.get(line.inventory_key or "")
        mapped = b.mapped
        if existing is not None and existing.assets and b.mapped_by:
            owner_here = any(self.asset_of(i) == existing.assets[0] for i in b.mapped_by)
            if not (owner_here and len(b.mapped_by) > 1):  # else: merged by the policies
                mapped = self.shared_values(b, existing, leavers)
        # change detection compares only the technical product's declared attributes that
        # the rules map (never the action: catalog validation refuses mapping it)
        compared = {n for n in b.mapped_names
                    if self.catalog.attribute_of(line.technical_product, n) is not None}
        derived = derive_line_action(existing, mapped, compared, keepers, leavers)
        line.action, line.attributes = derived.action, derived.attributes
        line.previous, line.reason = derived.previous, derived.reason
        return line


    def shared_values(self, b: _Building, existing, leavers: set[str]) -> dict[str, Any]:
        """A shared item keeps the values its first user mapped: that user's mapping when
        it is in the order, else (while it keeps using the item) the installed values."""
        owner = existing.assets[0]
        for item_id, mapped in b.mapped_by.items():
            if self.asset_of(item_id) == owner:
                return mapped
        if owner in leavers:
            return b.mapped
        return {name: existing.attributes[name] for name in b.mapped_names if name in existing.attributes}


def _label(lineage: tuple[str, ...]) -> str:
    if len(lineage) == 1:
        return f"order item '{lineage[0]}'"
    return "order items " + ", ".join(f"'{i}'" for i in lineage)


def _label_of_value(value: Any) -> str:
    return repr(value)


def _order_key(attr: Attribute | None, value: Any) -> tuple:
    """How ``max``/``min`` compare: an enum by the order of its values, numbers as numbers,
    anything else (dates are ISO text) as text."""
    if attr is not None and attr.type == "enum" and str(value) in (attr.values or ()):
        return (0, (attr.values or ()).index(str(value)), "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def _mapped_value(mapping: Mapping, lookup) -> tuple[Any, str]:
    """A mapping's value (None when it gives none) and how it was found, for the explorer."""
    if mapping.kind == "constant":
        return mapping.constant, "constant"
    if mapping.kind == "expression":
        value = plain(mapping.parsed_expression.evaluate(lookup))  # type: ignore[union-attr]
        return value, f"expression {mapping.expression}" + ("" if value is not None else " (missing)")
    source = mapping.source_attribute or ""
    raw = plain(lookup(source))
    if mapping.kind == "copy":
        return raw, f"copy of {source}" + ("" if raw is not None else f" ({source} is missing)")
    if raw is None:
        return mapping.default, f"default of the value list ({source} is missing)"
    key = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if key in (mapping.values or {}):
        return (mapping.values or {})[key], f"value list on {source} = {key!r}"
    return mapping.default, f"default of the value list ({source} = {key!r} is not listed)"


def decompose(items: list[OrderItem], catalog: Catalog, customer_id: str | None,
              installed: InstalledBase | None = None, *, order_id: str | None = None,
              trace: bool = False) -> Decomposition:
    """Order items -> fulfillment lines. With ``installed`` (the customer's installed base,
    possibly empty) each line's action is derived from it (MACD); ``order_id`` anchors
    order-scope lines; ``trace`` keeps how each attribute was mapped (the explorer)."""
    decomposer = _Decomposer(items, catalog, customer_id, installed, order_id, trace)
    result = decomposer.run()
    if trace:
        decomposer.merge_notes()
    return result
