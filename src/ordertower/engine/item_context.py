"""What running a plan item reads: its order, its line, and, for the ``assetize`` step, every
line of the revision it serves (any other item, a plug-in's auto step included, reads its own
line only, so its cost does not grow with the size of its order)."""

from __future__ import annotations

from typing import Any

from ..domain.planning import ASSETIZE_STEP
from .ports import Store


def load_context(store: Store, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict]]:
    """The order, the item's line, and the lines ``assetize`` reads (else none), as they are now."""
    # a compensation reads the line of the revision whose work it undoes
    revision = item["spec"].line_revision or item["revision"]
    with store.read() as uow:
        order = uow.orders.get(item["order_id"])
        if item["type"] == "auto" and item["spec"].step == ASSETIZE_STEP:
            lines = uow.orders.lines(item["order_id"], revision)
            line = next((ln for ln in lines if ln["line_id"] == item["line_id"]), None)
        else:
            lines = []
            line = (uow.orders.line(item["order_id"], revision, item["line_id"])
                    if item["line_id"] is not None else None)
    assert order is not None
    return order, line, lines
