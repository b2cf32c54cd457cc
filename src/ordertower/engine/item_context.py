"""What running a plan item reads: its order and the lines of the revision it serves."""

from __future__ import annotations

from typing import Any
from .ports import Store

def load_context(store: Store, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict]]:
    """The order, the item's line and every line of the order, as they are now."""
    with store.read() as uow:
        order = uow.orders.get(item["order_id"])
        # a compensation reads the line of the revision whose work it undoes
        lines = uow.orders.lines(item["order_id"], item["spec"].line_revision or item["revision"])
    assert order is not None
    line = next((ln for ln in lines if ln["line_id"] == item["line_id"]), None)
    return order, line, lines
