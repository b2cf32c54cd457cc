"""The queue protocol: claiming due plan items with a lease, renewing it while they run,
returning the items of a worker that stopped renewing, and giving back unfinished ones.

Locks follow engine/locks.py: the claim, the heartbeat and the expiry never wait for a lock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from .conflicts import retrying
from ..domain.lifecycle import ItemState, OrderState
from .locks import by_order, lock, lock_if_free
from .transitions import transition_item, transition_orders
from .ports import Store

log = structlog.get_logger("ordertower.engine")
LEASE_FREE = {"lease_owner": None, "lease_until": None}

@retrying
def claim(store: Store, worker: str, limit: int, lease: timedelta, exclude_systems=(),
          limits: dict[str, int] | None = None) -> list[dict[str, Any]]:
    with store.uow() as uow:
        now = uow.clock.now()
        offline = uow.orchestration.offline_systems()
        capacity = None
        excluded = set(exclude_systems) | offline
        if limits:
            # one claim at a time counts what runs, so a limit holds across processes
            uow.orchestration.lock_capacity()
            running = uow.plan.running_per_system()
            capacity = {s: max(n - running.get(s, 0), 0) for s, n in limits.items()}
            # a full system's items are not even picked: they never take the places of
            # other systems' items in the claim's LIMIT
            excluded |= {s for s, left in capacity.items() if left <= 0}
        rows = uow.plan.claim(worker, limit, now, now + lease, excluded, capacity)
        if not rows:
            return []
        uow.events.add_many([{
            "type": "PlanItemStateChangeEvent", "order_id": r["order_id"], "item_id": r["id"],
            "payload": {"item": r["id"], "key": r["key"], "name": r["name"],
                        "from": r["previous_state"], "to": ItemState.RUNNING.value,
                        "cause": f"claimed by {worker}", "attempts": r["attempts"]}} for r in rows], now)
        # planning a large order is not fulfilment: the order stays acknowledged until planned
        # orders locked by someone else (an amendment) are skipped: settle_order catches up
        started = sorted({r["order_id"] for r in rows if r["step_id"] != "plan-order"})
        transition_orders(uow, uow.orders.lock_acknowledged(started), OrderState.IN_PROGRESS,
                          "fulfillment started")
        uow.commit()
        return rows


@retrying
def expire_leases(store: Store) -> list[dict[str, Any]]:
    """Items whose worker stopped renewing its lease go back to ``ready`` for any worker.
    Never waits: an order or item someone holds now is left for the next round."""
    with store.uow() as uow:
        now = uow.clock.now()
        rows = []
        for order_id, candidates in by_order(uow.plan.expired(now)).items():
            held = lock_if_free(uow, order_id, [c["id"] for c in candidates])
            if held is None:
                continue
            for row in held[1].values():
                if row["state"] != ItemState.RUNNING or row["lease_until"] is None \
                        or row["lease_until"] >= now:  # renewed or recorded meanwhile
                    continue
                transition_item(uow, row, ItemState.READY, f"lease of {row['lease_owner']} expired",
                                **LEASE_FREE)
                log.warning("lease expired", order_id=row["order_id"], item_id=row["id"],
                            worker=row["lease_owner"])
                rows.append(row)
        if rows:
            uow.plan.released()
        uow.commit()
        return rows


@retrying
def release(store: Store, worker: str, item: dict[str, Any], cause: str) -> bool:
    """Give back an item this worker claimed but will not finish (it is shutting down): the
    item is ``ready`` again for any worker and the attempt it did not make is not charged.
    Returns False when the worker no longer held it."""
    with store.uow() as uow:
        _order, row = lock(uow, item["order_id"], item["id"])
        if row is None or row["state"] != ItemState.RUNNING or row["lease_owner"] != worker \
                or row["attempts"] != item["attempts"]:
            return False
        transition_item(uow, row, ItemState.READY, cause, attempts=max(row["attempts"] - 1, 0),
                        **LEASE_FREE)
        uow.plan.released()
        uow.commit()
        return True


@retrying
def renew_leases(store: Store, worker: str, ids: list[str], lease: timedelta) -> tuple[int, list[str]]:
    """The heartbeat: extend this worker's leases. Never waits for a lock: a row held right
    now (by an amendment or a recorder) is skipped, and returned so the caller can try it
    again shortly. Why a skipped renewal is safe: engine/locks.py. Returns how many were
    renewed and the ids skipped."""
    if not ids:
        return 0, []
    with store.uow() as uow:
        renewed, busy = uow.plan.renew_leases(worker, ids, uow.clock.now() + lease)
        uow.commit()
        return renewed, busy
