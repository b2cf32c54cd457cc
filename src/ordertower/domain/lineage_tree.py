"""An order's decomposition as a tree (pure): each order item, the fulfillment lines made from
it with the rule that fired and each attribute's value (and how it was mapped, when known),
the lines made from those, down to the leaves. Built from the stored lines (what the order
really became), so it holds for every order, however the installed base has moved since.

A line shared by several items (order or account scope) is shown in full under the first
and referred to (``shared``) under the others.
"""

from __future__ import annotations

from typing import Any


def tree(order_items: list[dict[str, Any]], lines: list[dict[str, Any]],
         how: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """``order_items``: the stored order items (``id``, ``action``, ``offering_id``,
    ``attributes``, ``parent_id``); ``lines``: the stored lines (``line_id``,
    ``technical_product``, ``action``, ``attributes``, ``lineage``, ``rule_ids``,
    ``parent_line_id``, ``scope``); ``how``: per line id, how each attribute was mapped."""
    how = how or {}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for ln in lines:
        children.setdefault(ln.get("parent_line_id"), []).append(ln)
    top = children.get(None, [])
    shown: set[str] = set()

    def line(ln: dict[str, Any]) -> dict[str, Any]:
        node = {"id": ln["line_id"], "technical_product": ln["technical_product"],
                "action": ln["action"], "scope": ln["scope"], "rules": list(ln["rule_ids"] or [])}
        if ln["line_id"] in shown:
            return node | {"shared": True}
        shown.add(ln["line_id"])
        notes = how.get(ln["line_id"], {})
        return node | {"shared": False, "reason": ln.get("reason"),
                       "attributes": [{"name": k, "value": v, "how": notes.get(k)}
                                      for k, v in (ln["attributes"] or {}).items()],
                       "lines": [line(c) for c in children.get(ln["line_id"], [])]}

    item_children: dict[str | None, list[dict[str, Any]]] = {}
    ids = {i["id"] for i in order_items}
    for i in order_items:
        parent = i.get("parent_id") if i.get("parent_id") in ids else None
        item_children.setdefault(parent, []).append(i)

    def item(i: dict[str, Any]) -> dict[str, Any]:
        return {"item": i["id"], "action": i["action"], "offering": i.get("offering_id"),
                "attributes": dict(i.get("attributes") or {}),
                "lines": [line(ln) for ln in top if i["id"] in (ln["lineage"] or [])],
                "children": [item(c) for c in item_children.get(i["id"], [])]}

    return [item(i) for i in item_children.get(None, [])]
