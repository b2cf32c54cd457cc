"""Cross-reference checks of a parsed catalog.

Pydantic checks each element's shape; these checks look across elements: unknown
references, duplicate ids, cycles in decomposition or in plans, mappings to undeclared
attributes, conditions over unknown attributes, templates with unknown placeholders.
Every problem carries the path of the element and field inside the catalog, e.g.
``("rules", 3, "target")``; the file adapter turns that into a file and a path in it.

The checks run on whatever the loader could read, so that one run reports every problem
(docs/catalog.md, "Checking a catalog"). An element that failed its own checks is known by
its id (``Unread.broken``): naming it is no error, and what needs its content is not checked.
A misspelt name gets "did you mean" (difflib); an unknown name that a file or section the
loader could not read mentions is marked as a knock-on of that problem.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from .catalog import SCOPE_BREADTH, Catalog, Rule, coerce_value
from .templates import BUILTINS, placeholders

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class CatalogIssue:
    path: Path
    message: str
    knock_on: str | None = None  # the problem it follows from, when it is a knock-on error


@dataclass(frozen=True)
class Unread:
    """What the loader could not read. ``broken``: ids of elements present but invalid, by
    section (``scenarios``: the technical products of broken scenarios; ``milestones``: the
    item ids those scenarios write). ``texts``: (where, text) of what was not read at all
    (a file that is not YAML, a section of unknown name, an element without a usable id)."""

    broken: Mapping[str, frozenset[str]] = field(default_factory=dict)
    texts: tuple[tuple[str, str], ...] = ()

    def is_broken(self, section: str, name: str) -> bool:
        return name in self.broken.get(section, ())

    def mentioned(self, name: str) -> str | None:
        """Where unread text names ``name`` (so an error about it may be a knock-on)."""
        word = re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])")
        for where, text in self.texts:
            if word.search(text):
                return f"{where} could not be read, and it names '{name}'"
        return None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest candidate names, or nothing."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=2, cutoff=0.75)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def check_catalog(catalog: Catalog, known_steps: Iterable[str] | None = None, *,
                  unavailable_steps: Mapping[str, str] | None = None,
                  unread: Unread | None = None) -> list[CatalogIssue]:
    issues: list[CatalogIssue] = []
    unread = unread or Unread()
    add = lambda path, msg, knock_on=None: issues.append(  # noqa: E731
        CatalogIssue(tuple(path), msg, knock_on))

    def unknown(path, section: str, name: str, message: str, candidates: Iterable[str]) -> None:
        """An unknown name: no problem when it names a broken element (that one's problem
        is reported); a knock-on when unread text names it; else "did you mean"."""
        if unread.is_broken(section, name):
            return
        add(path, message + did_you_mean(name, candidates), unread.mentioned(name))

    _duplicates(catalog, add)
    commercial = catalog.product_by_id
    technical = catalog.technical_by_id

    # --- rules -----------------------------------------------------------------------
    for r, rule in enumerate(catalog.rules):
        base = ("rules", r)
        sources = []
        for s, src in enumerate(rule.source):
            product = commercial.get(src) or technical.get(src)
            if product is None:
                if not unread.is_broken("products", src):
                    unknown(base + ("source", s) if len(rule.source) > 1 else base + ("source",),
                            "technical_products", src, f"unknown product '{src}'",
                            [*commercial, *technical])
            else:
                sources.append(product)
        target = technical.get(rule.target)
        if target is None:
            hint = " (a commercial product cannot be a target)" if rule.target in commercial else ""
            unknown(base + ("target",), "technical_products", rule.target,
                    f"unknown technical product '{rule.target}'{hint}", technical)
        if rule.condition is not None:
            for name in sorted(rule.condition.names):
                if "." in name:
                    problem = _related_name_problem(name, catalog, unread)
                    if problem:
                        add(base + ("when",), f"condition {problem}")
                    continue
                if name == "action":
                    continue
                missing = [p.id for p in sources if p.attribute(name) is None]
                if missing:
                    add(base + ("when",), f"condition reads '{name}', which "
                        f"{', '.join(missing)} does not declare" + did_you_mean(name, _names(sources)))
        for attr_name, mapping in rule.mappings.items():
            mpath = base + ("mappings", attr_name)
            target_attr = target.attribute(attr_name) if target else None
            if target is not None and target_attr is None:
                add(mpath, f"maps to '{attr_name}', which technical product '{target.id}' "
                    "does not declare" + did_you_mean(attr_name, _names([target])))
            for src_name in sorted(mapping.names):
                if "." in src_name:
                    problem = _related_name_problem(src_name, catalog, unread)
                    if problem:
                        add(mpath, problem)
                    elif mapping.values is not None:
                        other, attr = src_name.split(".", 1)
                        _value_list_keys(mapping, catalog.attribute_of(other, attr), other, add, mpath)
                    continue
                if src_name == "action":
                    continue  # refused below, with why (_action_dependencies)
                missing = [p.id for p in sources if p.attribute(src_name) is None]
                if missing:
                    add(mpath, f"reads '{src_name}', which {', '.join(missing)} does not declare"
                        + did_you_mean(src_name, _names(sources)))
                    continue
                for product in sources:
                    if mapping.values is not None:
                        _value_list_keys(mapping, product.attribute(src_name), product.id, add, mpath)
            if target_attr is not None:
                candidates = []
                if mapping.kind == "constant":
                    candidates.append((mpath + ("constant",), mapping.constant))
                if mapping.values is not None:
                    candidates += [(mpath + ("values", k), v) for k, v in mapping.values.items()]
                    if mapping.default is not None:
                        candidates.append((mpath + ("default",), mapping.default))
                for vpath, value in candidates:
                    try:
                        coerce_value(target_attr, value)
                    except ValueError as exc:
                        add(vpath, f"value for {target_attr.name}: {exc}")
    _action_dependencies(catalog, add)
    _decomposition_cycles(catalog, add)
    _scope_breadth(catalog, add)
    for p, product in enumerate(catalog.products):
        if product.quantity == "attribute":
            attr = product.attribute("quantity")
            if attr is None or attr.type != "integer":
                add(("products", p, "quantity"), "'quantity: attribute' needs an integer attribute "
                    "named 'quantity' to carry it")
    for t, tp in enumerate(catalog.technical_products):
        if tp.billing_account_id and tp.attribute(tp.billing_account_id) is None:
            add(("technical_products", t, "billing_account_id"),
                f"'{tp.billing_account_id}' is not an attribute of '{tp.id}'")

    # --- scenarios -------------------------------------------------------------------
    steps = set(known_steps) if known_steps is not None else None
    items_of_product: dict[str, set[str]] = {}
    for sc in catalog.scenarios:
        items_of_product.setdefault(sc.product, set()).update(i.id for i in sc.items)
    milestones = {i.id for sc in catalog.scenarios for i in sc.items if i.type == "milestone"}
    for q, rule in enumerate(catalog.assignment_rules):
        for field, names in (("queue", (rule.queue,)), ("applies_to", rule.applies_to)):
            for name in names:
                if name not in catalog.queue_by_id:
                    unknown(("assignment_rules", q, field), "work_queues", name,
                            f"unknown work queue '{name}'", catalog.queue_by_id)
    for s, sc in enumerate(catalog.scenarios):
        base = ("scenarios", s)
        product = technical.get(sc.product)
        if product is None:
            unknown(base + ("product",), "technical_products", sc.product,
                    f"unknown technical product '{sc.product}'", technical)
        local = {i.id for i in sc.items}
        declared = {a.name for a in product.attributes} if product else set()
        # ${previous.x}: the value the installed base held before this order (modify, delete)
        allowed_names = set(BUILTINS) | declared | {f"previous.{name}" for name in declared}
        for i, item in enumerate(sc.items):
            ipath = base + ("items", i)
            if item.system is not None and item.system not in catalog.system_by_id:
                unknown(ipath + ("system",), "systems", item.system,
                        f"unknown system '{item.system}'", catalog.system_by_id)
            if item.type == "auto" and steps is not None and item.step not in steps:
                why = (unavailable_steps or {}).get(item.step or "")
                add(ipath + ("step",), f"item '{item.id}': unknown auto step '{item.step}' "
                    f"(registered: {', '.join(sorted(steps))})"
                    + (f"; it is installed but unavailable: {why}" if why
                       else did_you_mean(item.step or "", steps)))
            for d, ref in enumerate(item.after):
                dpath = ipath + ("after", d)
                if "." in ref:
                    other, other_item = ref.split(".", 1)
                    if other not in technical:
                        unknown(dpath, "technical_products", other,
                                f"unknown technical product '{other}'", technical)
                    elif other_item not in items_of_product.get(other, set()) \
                            and not unread.is_broken("scenarios", other):
                        add(dpath, f"no scenario of '{other}' has an item '{other_item}'"
                            + did_you_mean(other_item, items_of_product.get(other, ())))
                elif ref not in local:
                    add(dpath, f"unknown item '{ref}' in this scenario" + did_you_mean(ref, local))
                elif ref == item.id:
                    add(dpath, "an item cannot wait for itself")
            for field in ("request", "compensation"):
                req = getattr(item, field)
                if req is None or product is None:
                    continue
                for name in sorted(set(placeholders(req.path)) | set(placeholders(req.body))):
                    if name not in allowed_names:
                        add(ipath + (field,), f"unknown placeholder '${{{name}}}' (the line's "
                            f"attributes and {', '.join(sorted(BUILTINS))})"
                            + did_you_mean(name, allowed_names))
            if item.compensation_queue is not None and item.compensation_queue not in catalog.queue_by_id:
                unknown(ipath + ("compensation_queue",), "work_queues", item.compensation_queue,
                        f"unknown work queue '{item.compensation_queue}'", catalog.queue_by_id)
            if item.type == "manual" and item.queue not in catalog.queue_by_id:
                unknown(ipath + ("queue",), "work_queues", item.queue or "",
                        f"unknown work queue '{item.queue}'", catalog.queue_by_id)
            if item.after_order is not None and item.after_order not in milestones:
                unknown(ipath + ("after_order",), "milestones", item.after_order,
                        f"no scenario has a milestone '{item.after_order}'", milestones)
            for field, cond in (("when", item.condition), ("until", item.until_condition)):
                for name in sorted(cond.names if cond else ()):
                    if name != "action" and product is not None and product.attribute(name) is None:
                        add(ipath + (field,), f"condition reads '{name}', which '{product.id}' "
                            "does not declare" + did_you_mean(name, declared))
            for attr_name in item.outputs:
                if product is not None and product.attribute(attr_name) is None:
                    add(ipath + ("outputs", attr_name), f"output '{attr_name}' is not an "
                        f"attribute of '{product.id}'" + did_you_mean(attr_name, declared))
    _plan_cycles(catalog, add)
    return issues


PITFALL = ("a later order that keeps the item (noChange) or changes another item of its bundle "
           "would map another value and run a spurious modify; choose the lines with the rule's "
           "'actions' and map only attributes")


def _action_dependencies(catalog: Catalog, add) -> None:
    """Refuse every mapping that makes a line's attribute depend on the order item's
    ``action``, directly or through an attribute of another line (the pitfall Salesforce IOM
    warns about): change detection compares mapped attributes, so such a value differs
    between the order that added the line and any later one."""
    tainted: dict[tuple[str, str], str] = {}  # (product, attribute) -> the chain, for the message
    found: dict[tuple[int, str], str] = {}
    changed = True
    while changed:
        changed = False
        for r, rule in enumerate(catalog.rules):
            for name, mapping in rule.mappings.items():
                if (rule.target, name) in tainted:
                    continue
                via = None
                for read in sorted(mapping.names):
                    if read == "action":
                        via = ""
                    elif "." in read:
                        product, attr = read.split(".", 1)
                        if (product, attr) in tainted:
                            via = f" (through {read}{tainted[(product, attr)]})"
                    else:
                        src = next((s for s in rule.source if (s, read) in tainted), None)
                        if src is not None:
                            via = f" (through {src}.{read}{tainted[(src, read)]})"
                    if via is not None:
                        break
                if via is None:
                    continue
                tainted[(rule.target, name)] = via
                found[(r, name)] = via
                changed = True
    for (r, name), via in sorted(found.items(), key=lambda kv: (kv[0][0],
                                 list(catalog.rules[kv[0][0]].mappings).index(kv[0][1]))):
        target = catalog.rules[r].target
        add(("rules", r, "mappings", name),
            f"{target}.{name} depends on the order item's action{via}: {PITFALL}")


def catalog_warnings(catalog: Catalog) -> list[CatalogIssue]:
    """What is allowed but likely wrong: a mapping into a line several order items can share
    (root, order or account scope) that says nothing of how to merge different values."""
    out: list[CatalogIssue] = []
    for r, rule in enumerate(catalog.rules):
        if rule.scope == "item":
            continue
        for name, mapping in rule.mappings.items():
            if mapping.kind == "constant" or mapping.merge_declared:
                continue
            out.append(CatalogIssue(("rules", r, "mappings", name), (
                f"scope '{rule.scope}': several order items can feed one {rule.target} line "
                f"with different values for '{name}', and then the order is refused (merge: "
                "error, the default); say how to merge them with merge: first, last, max, min "
                "or list (or write merge: error)")))
    return out


def _names(products) -> list[str]:
    return [a.name for p in products for a in p.attributes]


def _related_name_problem(name: str, catalog: Catalog, unread: Unread) -> str | None:
    """What is wrong with a related-item name ``product.attribute``, if anything."""
    product_id, attr = name.split(".", 1)
    product = catalog.product_by_id.get(product_id) or catalog.technical_by_id.get(product_id)
    if product is None and (unread.is_broken("products", product_id)
                            or unread.is_broken("technical_products", product_id)):
        return None  # its own problem is reported
    if product is None or "." in attr:
        return (f"reads '{name}': a related item is written product.attribute, and "
                f"'{product_id}' is not a product"
                + did_you_mean(product_id, [*catalog.product_by_id, *catalog.technical_by_id]))
    if product.attribute(attr) is None:
        return f"reads '{name}', which '{product_id}' does not declare" + did_you_mean(
            attr, _names([product]))
    return None


def _value_list_keys(mapping, src_attr, product_id: str, add, mpath: Path) -> None:
    if src_attr is None or src_attr.type != "enum":
        return
    for key in mapping.values or {}:
        if key not in (src_attr.values or ()):
            add(mpath + ("values", key), f"'{key}' is not a value of "
                f"{product_id}.{src_attr.name} ({', '.join(src_attr.values or ())})")


def _scope_breadth(catalog: Catalog, add) -> None:
    """A child rule (whose source is a technical product) may not share its target more
    widely than the rule that makes its source: one line per item cannot feed one line
    per account (SCOPE_BREADTH orders item < root < order < account)."""
    makers: dict[str, list[Rule]] = {}
    for rule in catalog.rules:
        makers.setdefault(rule.target, []).append(rule)
    for r, rule in enumerate(catalog.rules):
        narrower = next(((src, parent) for src in rule.source for parent in makers.get(src, [])
                         if SCOPE_BREADTH[rule.scope] > SCOPE_BREADTH[parent.scope]), None)
        if narrower is not None:
            src, parent = narrower
            add(("rules", r, "scope"), f"scope '{rule.scope}' is broader than scope "
                f"'{parent.scope}' of rule '{parent.id}', which makes its source '{src}'")


def _duplicates(catalog: Catalog, add) -> None:
    def seen(section: str, keys: list) -> None:
        first: dict = {}
        for idx, key in enumerate(keys):
            if key in first:
                add((section, idx, "id"), f"duplicate id '{key}' (first at {section}[{first[key]}])")
            else:
                first[key] = idx

    seen("systems", [s.id for s in catalog.systems])
    seen("products", [p.id for p in catalog.products])
    seen("technical_products", [p.id for p in catalog.technical_products])
    seen("rules", [r.id for r in catalog.rules])
    seen("work_queues", [q.id for q in catalog.work_queues])
    seen("assignment_rules", [r.id for r in catalog.assignment_rules])
    commercial = {p.id for p in catalog.products}
    for idx, p in enumerate(catalog.technical_products):
        if p.id in commercial:
            add(("technical_products", idx, "id"), f"'{p.id}' is already a commercial product")
    first_sc: dict = {}
    for idx, sc in enumerate(catalog.scenarios):
        key = (sc.product, sc.action)
        if key in first_sc:
            add(("scenarios", idx, "product"), f"duplicate scenario for {sc.product}/{sc.action} "
                f"(first at scenarios[{first_sc[key]}])")
        else:
            first_sc[key] = idx
        ids: dict[str, int] = {}
        for i, item in enumerate(sc.items):
            if item.id in ids:
                add(("scenarios", idx, "items", i, "id"), f"duplicate item id '{item.id}'")
            ids.setdefault(item.id, i)
    for p_section, products in (("products", catalog.products),
                                ("technical_products", catalog.technical_products)):
        for idx, p in enumerate(products):
            names: set[str] = set()
            for a, attr in enumerate(p.attributes):
                if attr.name in names:
                    add((p_section, idx, "attributes", a, "name"),
                        f"duplicate attribute '{attr.name}'")
                names.add(attr.name)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in a directed graph as a list of nodes (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in graph}
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, children = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                colour[node] = BLACK
                stack.pop()
                path.pop()
                continue
            state = colour.get(nxt, WHITE)
            if state == GREY:
                return path[path.index(nxt):] + [nxt]
            if state == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append((nxt, iter(sorted(graph.get(nxt, ())))))
    return None


def _decomposition_cycles(catalog: Catalog, add) -> None:
    graph: dict[str, set[str]] = {}
    for rule in catalog.rules:
        for src in rule.source:
            graph.setdefault(src, set()).add(rule.target)
            graph.setdefault(rule.target, set())
    cycle = find_cycle(graph)
    if cycle:
        idx = next(i for i, r in enumerate(catalog.rules) if cycle[0] in r.source)
        add(("rules", idx), "decomposition cycle: " + " -> ".join(cycle))


def _plan_cycles(catalog: Catalog, add) -> None:
    graph: dict[str, set[str]] = {}
    where: dict[str, tuple] = {}
    for s, sc in enumerate(catalog.scenarios):
        for i, item in enumerate(sc.items):
            node = f"{sc.product}.{item.id}"
            where.setdefault(node, ("scenarios", s, "items", i, "after"))
            deps = graph.setdefault(node, set())
            for ref in item.after:
                deps.add(ref if "." in ref else f"{sc.product}.{ref}")
    for deps in list(graph.values()):
        for d in deps:
            graph.setdefault(d, set())
    cycle = find_cycle(graph)
    if cycle:
        add(where.get(cycle[0], ("scenarios",)), "plan cycle: " + " -> ".join(cycle))
