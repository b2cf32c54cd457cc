"""The one lock order of every writer, in one place.

**The rule.** A unit of work that changes an order's rows locks them in this order:

1. the order row (``orders``); a writer that needs several orders locks them in id order
   (``lock_orders``);
2. then that order's plan items (``plan_items``);
3. then what hangs off the items and rows shared between orders, last: callback tokens,
   tasks, queue cursors, system states, the customer's inventory.

Nobody takes an order's row after one of its items. A writer that may not wait (the lease
heartbeat, the sweeps, the claim) takes what it can get with ``SKIP LOCKED`` and leaves the
rest for its next round; a writer that never waits cannot close a cycle of waits, so it may
(the claim does) lock items before their order. On SQLite writers are serialised by
``BEGIN IMMEDIATE``, the row locks are no-ops and nothing can deadlock; the same code runs.

**Who takes what** (audited: every ``for_update``, ``with_for_update`` and UPDATE of
``orders``/``plan_items`` in the repositories):

=============================================  =============================================
writer                                         locks, in this order
=============================================  =============================================
services.amend_order.apply_revisions           order (waits), its items (``lock_order_items``)
services.cancel_order.cancel, ..._cancellation order (waits), its items; tasks
services.fallout.act                           order, the item (``lock``); cancel: all items
services.callbacks.receive_callback            order, the item, then its token
services.tasks.claim_task / complete_task      order (and the item), then the task
services.systems.set_offline                   the system's items' orders in id order
                                               (``lock_orders``, waits), their items, then the
                                               system's state row
engine.recording.record, engine.leases.release order, the item (``lock``); successors of the
                                               same order; tokens, tasks, cursor, inventory
engine.leases.claim                            ready items (``SKIP LOCKED``), then their
                                               acknowledged orders (``SKIP LOCKED``): never waits
engine.leases.renew_leases (heartbeat)         the worker's running items, ``SKIP LOCKED``
                                               only: never waits (see below)
engine.leases.expire_leases                    order, then items, both ``lock_if_free``
engine.timers.sweep_timers (time-outs, waits)  order, then items, both ``lock_if_free``
engine.jeopardy.sweep_jeopardy                 order, then items, both ``lock_if_free``
engine.holds.sweep_holds                       order, then items, both ``lock_if_free``
services.place_order, plan_order.record_plan   new rows only (record_plan: under record's)
engine.dispatcher (event delivery)             its subscription rows only, no order or item
=============================================  =============================================

**The heartbeat skips what it cannot lock.** ``renew_leases`` extends only the leases of
rows it can lock at once. A row an amendment or a recorder holds is skipped and tried again
shortly (``Worker._heartbeat``); a lease lasts three heartbeats, and those writers hold a row
for one short transaction, so a lease is practically never lost that way. If one were (a row
held for a whole lease), nothing breaks: ``expire_leases`` returns the item to ``ready``, the
worker's late outcome is discarded by ``record`` (it checks lease owner and attempt), and the
next attempt sends the same ``Idempotency-Key``, so the system does the work once.

**If a transaction still fails** with a deadlock, a serialization failure or a busy SQLite,
``adapters.store.unit_of_work.retrying`` runs the whole use case again in a fresh unit of work.
"""

from __future__ import annotations

from typing import Any, Iterable
from .ports import UnitOfWork


def lock(uow: UnitOfWork, order_id: str, item_id: str | None = None, *,
         whole: bool = True) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Lock an order, then (optionally) one of its items, waiting for each. Returns
    ``(order, item)``; ``order`` is None when there is no such order (``whole=False``:
    read without its TMF body and items)."""
    order = uow.orders.get(order_id, for_update=True, whole=whole)
    if order is None:
        return None, None
    item = uow.plan.get(item_id, for_update=True) if item_id else None
    if item is not None and item["order_id"] != order_id:
        raise ValueError(f"plan item {item_id} is not an item of order {order_id}")
    return order, item


def lock_order_items(uow: UnitOfWork, order_id: str, item_ids: Iterable[str] | None = None, *,
                     wait: bool = True) -> list[dict[str, Any]]:
    """After the order (``lock``/``lock_if_free``): its items, every revision (or just these),
    locked; with ``wait=False`` only those nobody else holds now."""
    if item_ids is None:
        return uow.plan.lock_all(order_id, skip_locked=not wait)
    return uow.plan.lock_items(order_id, item_ids, skip_locked=not wait)


def lock_if_free(uow: UnitOfWork, order_id: str, item_ids: Iterable[str] = ()) \
        -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    """For writers that must never wait: the order if nobody holds it, then those of these
    items nobody holds (by id). None when the order is held: try again next round."""
    order = uow.orders.lock_if_free(order_id)
    if order is None:
        return None
    ids = list(item_ids)
    items = lock_order_items(uow, order_id, ids, wait=False) if ids else []
    return order, {i["id"]: i for i in items}


def lock_orders(uow: UnitOfWork, order_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Several orders, locked in id order (waiting): the only way a writer holds more than
    one order while it may wait."""
    return {o["id"]: o for o in uow.orders.lock_many(order_ids)}


def by_order(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Plan item rows grouped by their order (first seen first), each item once."""
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            out.setdefault(row["order_id"], []).append(row)
    return out
