"""What running a plan item reads: its order, its line, and, for the ``assetize`` step, the
items and lines of its bundle (any other item, a plug-in's auto step included, reads its own
line only), so that what an item reads does not grow with the size of its order. Callouts
and waits read the order without its TMF body and items (megabytes for a large order); auto
steps and manual tasks (whose routing rules read the order's category, priority and
customer) read it whole."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from ..domain.inventory import Bundles, bundles_of
from ..domain.planning import ASSETIZE_STEP
from .ports import Store


def load_context(store: Store, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict]]:
    """The order, the item's line, and the lines ``assetize`` reads (else none), as they are
    now; one item alone (a circuit breaker's trial, or when a claim's read failed), so an
    ``assetize`` item reads every line of its revision here, and groups them itself."""
    revision = _revision(item)
    with store.read() as uow:
        order = uow.orders.get(item["order_id"], whole=reads_whole_order(item))
        if _is_assetize(item):
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


def _revision(item: dict[str, Any]) -> int:
    """The revision of the lines an item reads (a compensation: the revision it undoes)."""
    return item["spec"].line_revision or item["revision"]


def _is_assetize(item: dict[str, Any]) -> bool:
    return item["type"] == "auto" and item["spec"].step == ASSETIZE_STEP


def load_contexts(store: Store, items: list[dict[str, Any]]) -> dict[str, Context]:
    """``load_context`` for many items (by id), in one read transaction of a few queries,
    whatever their number: what a worker reads for the items it has just claimed. The
    ``assetize`` items read only their bundle's items and lines (``_bundle_contexts``)."""
    if not items:
        return {}
    assetize = [i for i in items if _is_assetize(i)]
    others = [i for i in items if not _is_assetize(i)]
    with store.read() as uow:
        read_whole = {i["order_id"] for i in others if reads_whole_order(i)}
        orders = uow.orders.get_many(read_whole) if read_whole else {}
        rest = {i["order_id"] for i in items} - read_whole
        if rest:
            orders.update(uow.orders.get_many(rest, whole=False))
        one = uow.orders.lines_by_id((i["order_id"], _revision(i), i["line_id"]) for i in others
                                     if i["line_id"] is not None)
        out = _bundle_contexts(uow, assetize, orders) if assetize else {}
    for item in others:
        order = orders.get(item["order_id"])
        if order is None:
            continue
        line = (one.get((item["order_id"], _revision(item), item["line_id"]))
                if item["line_id"] is not None else None)
        out[item["id"]] = (order, line, [])
    return out


# How each order's items and lines group into bundles (domain/inventory.Bundles), by (order,
# revision of the lines, revision of the order): the grouping of a revision never changes (its
# items and the lineage of its lines are fixed; an amendment makes a new revision), so a
# worker groups a large order once and then reads, for the assetize items of each claim, only
# their bundles' lines (fresh: callouts write their outputs into them). A 10,000-line order has
# 10,000 assetize items; read and grouped whole for each claim, they cost more than the rest
# of the order (issue 11). The newest few orders are kept.
_SHAPES: "OrderedDict[tuple[str, int, int], Bundles]" = OrderedDict()
_SHAPES_KEPT = 8
_SHAPES_LOCK = threading.Lock()


def _shape(key: tuple[str, int, int]) -> Bundles | None:
    with _SHAPES_LOCK:
        shape = _SHAPES.get(key)
        if shape is not None:
            _SHAPES.move_to_end(key)
        return shape


def _keep_shape(key: tuple[str, int, int], shape: Bundles) -> None:
    with _SHAPES_LOCK:
        _SHAPES[key] = shape
        while len(_SHAPES) > _SHAPES_KEPT:
            _SHAPES.popitem(last=False)


def _bundle_contexts(uow, items: list[dict[str, Any]],
                     orders: dict[str, dict[str, Any]]) -> dict[str, Context]:
    """The contexts of ``assetize`` items: the order (without its body when nothing else of
    the claim read it) with only the items of the item's bundle (``Bundles.order_items``),
    and the bundle's lines as they are now."""
    keys = {i["id"]: (i["order_id"], _revision(i), orders[i["order_id"]]["revision"])
            for i in items if i["order_id"] in orders}
    shapes = {key: _shape(key) for key in set(keys.values())}
    missing = {key for key, shape in shapes.items() if shape is None}
    if missing:  # the first claim of these orders' revisions: read them whole, once
        whole = uow.orders.get_many({key[0] for key in missing})
        every = uow.orders.lines_of({(key[0], key[1]) for key in missing})
        for key in missing:
            if key[0] in whole:
                shapes[key] = bundles_of(whole[key[0]]["items"], every.get((key[0], key[1]), []))
                _keep_shape(key, shapes[key])
    wanted: set[tuple[str, int, str]] = set()
    for item in items:
        key = keys.get(item["id"])
        if key is not None and shapes[key] is not None:
            wanted.update((key[0], key[1], line_id)
                          for line_id in shapes[key].line_ids(item["spec"].root_item_id))
    fresh = uow.orders.lines_by_id(wanted)
    out: dict[str, Context] = {}
    for item in items:
        key = keys.get(item["id"])
        shape = shapes.get(key) if key else None
        if shape is None:
            continue
        root = item["spec"].root_item_id
        lines = [fresh[(key[0], key[1], line_id)] for line_id in shape.line_ids(root)
                 if (key[0], key[1], line_id) in fresh]
        order = orders[item["order_id"]] | {"items": shape.order_items(root)}
        out[item["id"]] = (order, None, lines)
    return out
