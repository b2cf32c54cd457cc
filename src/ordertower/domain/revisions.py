"""Revisions of an in-flight order (supplemental orders): what changed, line by line.

The delta compares the lines the current revision planned with the lines the new revision
decomposes into, by line id (ids are deterministic: the same item and product give the same
id). A line is ``changed`` when its technical product, its action, or an attribute its rules
map differs; attributes written by fulfilment (a callout's ``outputs``, e.g. the msisdn) are
not compared. Roots (bundles) are "touched" when an order item under them, or a line serving
them, changed. Work a revision or a cancellation withdraws is undone by an item named after
the work it undoes (``undo_of``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog
from .decomposition import FulfillmentLine
from .item_spec import ItemSpec
from .lifecycle import ItemState
from .planning import PlannedItem


@dataclass
class LineDelta:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # line -> attr -> [old, new]
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed,
                "unchanged": self.unchanged}


def _mapped(rule_ids: list[str], catalog: Catalog) -> set[str]:
    rules = {r.id: r for r in catalog.rules}
    return {name for rid in rule_ids if rid in rules for name in rules[rid].mappings}


def line_delta(old: list[dict[str, Any]], new: list[FulfillmentLine], catalog: Catalog) -> LineDelta:
    """``old`` are stored line rows (``line_id``, ``attributes``...), ``new`` the new lines."""
    before = {row["line_id"]: row for row in old}
    delta = LineDelta()
    for line in new:
        row = before.get(line.id)
        if row is None:
            delta.added.append(line.id)
            continue
        diffs: dict[str, list[Any]] = {}
        if row["technical_product"] != line.technical_product:
            diffs["technical_product"] = [row["technical_product"], line.technical_product]
        if row["action"] != line.action:
            diffs["action"] = [row["action"], line.action]
        for name in sorted(_mapped(list(row["rule_ids"]) + list(line.rule_ids), catalog)):
            was, now = row["attributes"].get(name), line.attributes.get(name)
            if was != now:
                diffs[name] = [was, now]
        if diffs:
            delta.changed[line.id] = diffs
        else:
            delta.unchanged.append(line.id)
    ids = {line.id for line in new}
    delta.removed = [lid for lid in before if lid not in ids]
    return delta


def _roots(items: list[dict[str, Any]]) -> dict[str, str]:
    parents = {i["id"]: i.get("parent_id") for i in items}
    out = {}
    for item_id in parents:
        root, seen = item_id, {item_id}
        while parents.get(root) and parents[root] not in seen:
            root = parents[root]
            seen.add(root)
        out[item_id] = root
    return out


def touched_roots(old_items: list[dict[str, Any]], new_items: list[dict[str, Any]], delta: LineDelta,
                  old_lines: list[dict[str, Any]], new_lines: list[FulfillmentLine]) -> set[str]:
    """Root order items whose bundle the revision changes."""
    touched: set[str] = set()
    old_by_id = {i["id"]: i for i in old_items}
    new_by_id = {i["id"]: i for i in new_items}
    old_roots, new_roots = _roots(old_items), _roots(new_items)

    def comparable(item: dict[str, Any]) -> tuple:
        return (item["action"], item.get("offering_id"), sorted(item.get("attributes", {}).items()),
                item.get("product_id"), item.get("parent_id"))

    for item_id in set(old_by_id) | set(new_by_id):
        a, b = old_by_id.get(item_id), new_by_id.get(item_id)
        if a is None or b is None or comparable(a) != comparable(b):
            if a is not None:
                touched.add(old_roots[item_id])
            if b is not None:
                touched.add(new_roots[item_id])
    lines_by_id = {row["line_id"]: row["root_item_ids"] for row in old_lines}
    lines_by_id.update({line.id: line.root_item_ids for line in new_lines if line.id not in lines_by_id})
    for line_id in list(delta.changed) + delta.removed + delta.added:
        touched.update(lines_by_id.get(line_id, []))
    return touched


# --- which work a revision keeps --------------------------------------------------------------

_SET_ASIDE = frozenset({ItemState.CANCELLED, ItemState.COMPENSATED, ItemState.COMPENSATING})
_NOT_STARTED = frozenset({ItemState.PENDING, ItemState.READY, ItemState.ON_HOLD, ItemState.RETRYING})


@dataclass
class KeptWork:
    """What a revision does with the current revision's plan items."""

    carried: dict[str, dict[str, Any]]  # key -> row kept as it is, moved to the new revision
    stopping: list[dict[str, Any]]  # rows withdrawn (cancelled, left running, or undone)
    fresh: set[str]  # keys of the new plan that get new items


def kept_work(current: list[dict[str, Any]], planned: dict[str, PlannedItem],
              affected_lines: set[str], touched_roots: set[str]) -> KeptWork:
    """Carry an item when nothing it serves changed and the new plan still has it; a
    completed item whose strategy is ``ignore`` stays done too; an unstarted item whose
    dependencies are new work is planned afresh (so it waits for them); the rest stop.
    Undo items (``compensates``) and items already set aside are neither carried nor stopped."""
    carried: dict[str, dict[str, Any]] = {}
    stopping: list[dict[str, Any]] = []
    for row in current:
        if row["state"] in _SET_ASIDE or row["spec"].compensates:
            continue
        affected = (row["line_id"] in affected_lines if row["line_id"] is not None
                    else bool(touched_roots.intersection(row["root_item_ids"])))
        if not affected and row["key"] in planned:
            carried[row["key"]] = row
        else:
            stopping.append(row)
    for row in stopping:  # completed work its strategy says to keep stays done
        if row["state"] == ItemState.COMPLETED and row["spec"].compensate == "ignore" \
                and row["key"] in planned:
            carried[row["key"]] = row
    stopping = [r for r in stopping if r["key"] not in carried or carried[r["key"]]["id"] != r["id"]]
    fresh = {k for k in planned if k not in carried}
    changed = True
    while changed:
        changed = False
        for key, row in list(carried.items()):
            if row["state"] in _NOT_STARTED and fresh.intersection(planned[key].depends_on):
                stopping.append(carried.pop(key))
                fresh.add(key)
                changed = True
    return KeptWork(carried, stopping, fresh)


# --- how withdrawn work is undone -------------------------------------------------------------


def undo_key(key: str, revision: int) -> str:
    """The key of the item that undoes the work of plan item ``key`` done in ``revision``.

    Named by the work it undoes, not by the revision that plans the undoing: an amendment and
    the cancellation after it plan in the same revision, the amendment undoing the shipment of
    the revision before and the cancellation the shipment made again since. A plan item with
    a given key is in one revision at a time and is undone at most once (work withdrawn stays
    in its revision), so the key is unique in the order."""
    return f"{key}~undo@{revision}"


def undo_of(row: dict[str, Any], depends_on: list[str]) -> PlannedItem:
    """The plan item that undoes the work of ``row`` (a stored plan item, withdrawn): its
    declared compensation, or a manual task in the compensation queue (strategy ``manual``).
    It reads the line of the revision whose work it undoes."""
    spec = row["spec"]
    manual = spec.strategy() == "manual"
    return PlannedItem(
        key=undo_key(row["key"], row["revision"]), line_id=row["line_id"],
        step_id=f"{row['step_id']}-undo", name=f"Undo: {row['name']}",
        type="manual" if manual else "callout", system=None if manual else row["system"],
        ponr=False, depends_on=depends_on, root_item_ids=row["root_item_ids"],
        spec=ItemSpec(request=None if manual else spec.compensation, retry=spec.retry,
                      queue=spec.compensation_queue if manual else None, compensate="ignore",
                      compensates=row["id"], line_revision=row["revision"]))
