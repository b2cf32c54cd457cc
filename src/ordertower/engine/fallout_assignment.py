"""An item going to fallout is assigned by the first fallout rule that matches it
(domain/fallout_rules.py): in the same transaction, with a ``FalloutAssignEvent``. Its actor
is whoever made it fall out (the engine, a callback's system)."""

from __future__ import annotations

from typing import Any

from ..domain.fallout_rules import first_match
from .ports import UnitOfWork


def assign_by_rule(uow: UnitOfWork, row: dict[str, Any], error: str) -> dict[str, Any] | None:
    """Each fallout episode starts afresh: an earlier episode's assignment is dropped, and the
    first matching rule (if any) assigns the item."""
    uow.fallout_work.unassign(row["id"])
    rules = uow.fallout_work.rules()
    if not rules:
        return None
    line = uow.orders.line(row["order_id"], row["revision"], row["line_id"]) if row.get("line_id") else None
    rule = first_match(rules, row.get("system"), error, line["technical_product"] if line else None)
    if rule is None:
        return None
    now = uow.clock.now()
    assignment = {"item_id": row["id"], "order_id": row["order_id"], "user_name": rule["user_name"],
                  "queue": rule["queue"], "rule_id": rule["id"], "assigned_by": "engine",
                  "assigned_at": now}
    uow.fallout_work.assign(assignment)
    uow.events.add("FalloutAssignEvent", {"item": row["id"], "user": rule["user_name"], "queue": rule["queue"],
                                          "rule": rule["id"]}, now, order_id=row["order_id"], item_id=row["id"])
    return assignment
