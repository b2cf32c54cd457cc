"""What running a plan item reads: its order, its line, and, for the ``assetize`` step, every
line of the revision it serves (any other item, a plug-in's auto step included, reads its own
line only, so its cost does not grow with the size of its order). Callouts and waits read
the order without its TMF body and items (megabytes for a large order); auto steps and
manual tasks (whose routing rules read the order's category, priority and customer) read
it whole."""

from __future__ import annotations

from typing import Any

from ..domain.planning import ASSETIZE_STEP
from .ports import Store


def load_context(store: Store, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict]]:
    """The order, the item's line, and the lines ``assetize`` reads (else none), as they are now."""
    # a compensation reads the line of the revision whose work it undoes
    revision = item["spec"].line_revision or item["revision"]
    with store.read() as uow:
        order = uow.orders.get(item["order_id"], whole=reads_whole_order(item))
        if item["type"] == "auto" and item["spec"].step == ASSETIZE_STEP:
            lines = uow.orders.lines(item["order_id"], revision)
            line = next((ln for ln in lines if ln["line_id"] == item["line_id"]), None)
        else:
            lines = []
            line = (uow.orders.line(item["order_id"], revision, item["line_id"])
                    if item["line_id"] is not None else None)
    assert order is not None
    return order, line, lines


Context = tuple[dict[str, Any], dict[str, Any] | None, list[dict]]


def reads_whole_order(item: dict[str, Any]) -> bool:
    """Whether running this item reads the order's TMF body and items (``Executors``: an auto
    step's context carries the whole order; a task's routing reads the body)."""
    return item["type"] in ("auto", "manual")


def load_contexts(store: Store, items: list[dict[str, Any]]) -> dict[str, Context]:
    """``load_context`` for many items (by id), in one read transaction of at most four
    queries, whatever their number: what a worker reads for the items it has just claimed."""
    if not items:
        return {}
    def revision(item):
        return item["spec"].line_revision or item["revision"]

    def whole(item):  # assetize reads every line of its revision
        return item["type"] == "auto" and item["spec"].step == ASSETIZE_STEP
    with store.read() as uow:
        read_whole = {i["order_id"] for i in items if reads_whole_order(i)}
        orders = uow.orders.get_many(read_whole) if read_whole else {}
        rest = {i["order_id"] for i in items} - read_whole
        if rest:
            orders.update(uow.orders.get_many(rest, whole=False))
        every = uow.orders.lines_of((i["order_id"], revision(i)) for i in items if whole(i))
        one = uow.orders.lines_by_id((i["order_id"], revision(i), i["line_id"]) for i in items
                                     if not whole(i) and i["line_id"] is not None)
    out: dict[str, Context] = {}
    for item in items:
        order = orders.get(item["order_id"])
        if order is None:
            continue
        if whole(item):
            lines = every.get((item["order_id"], revision(item)), [])
            line = None if item["line_id"] is None else next(
                (ln for ln in lines if ln["line_id"] == item["line_id"]), None)
            out[item["id"]] = (order, line, lines)
        else:
            line = (one.get((item["order_id"], revision(item), item["line_id"]))
                    if item["line_id"] is not None else None)
            out[item["id"]] = (order, line, [])
    return out
