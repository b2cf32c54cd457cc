"""Record what happened to plan items, in one transaction each: the new state, the
attempt, the events, the assets, the successors it unblocks and the order's state.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import structlog

from ..adapters.store.repositories import new_id
from ..domain.catalog import RetryPolicy
from ..domain.lifecycle import ItemState, OrderState
from ..domain.retry import attempts_left, next_delay
from .outcomes import Outcome
from .transitions import transition_item, transition_order

log = structlog.get_logger("ordertower.engine")
_rng = random.Random()


def claim(store, worker: str, limit: int, lease: timedelta, exclude_systems=()) -> list[dict[str, Any]]:
    with store.uow() as uow:
        now = uow.clock.now()
        rows = uow.plan.claim(worker, limit, now, now + lease, exclude_systems)
        if not rows:
            return []
        uow.events.add_many([{
            "type": "PlanItemStateChangeEvent", "order_id": r["order_id"], "item_id": r["id"],
            "payload": {"item": r["id"], "key": r["key"], "name": r["name"],
                        "from": r["previous_state"], "to": ItemState.RUNNING.value,
                        "cause": f"claimed by {worker}", "attempts": r["attempts"]}} for r in rows], now)
        for order_id in sorted({r["order_id"] for r in rows}):
            order = uow.orders.get(order_id)
            if order and order["state"] == OrderState.ACKNOWLEDGED:
                transition_order(uow, order, OrderState.IN_PROGRESS, "fulfillment started")
        uow.commit()
        return rows


def expire_leases(store) -> list[dict[str, Any]]:
    """Items whose worker stopped renewing its lease go back to ``ready`` for any worker."""
    with store.uow() as uow:
        rows = uow.plan.expired(uow.clock.now())
        for row in rows:
            transition_item(uow, row, ItemState.READY, f"lease of {row['lease_owner']} expired",
                            lease_owner=None, lease_until=None)
            log.warning("lease expired", item=row["id"], worker=row["lease_owner"])
        if rows:
            uow.plan.released()
        uow.commit()
        return rows


def renew_leases(store, worker: str, ids: list[str], lease: timedelta) -> int:
    if not ids:
        return 0
    with store.uow() as uow:
        n = uow.plan.renew_leases(worker, ids, uow.clock.now() + lease)
        uow.commit()
        return n


def load_context(store, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict]]:
    """The order, the item's line and every line of the order, as they are now."""
    with store.read() as uow:
        order = uow.orders.get(item["order_id"])
        lines = uow.orders.lines(item["order_id"], item["revision"])
    assert order is not None
    line = next((ln for ln in lines if ln["line_id"] == item["line_id"]), None)
    return order, line, lines


def record(store, worker: str, item: dict[str, Any], outcome: Outcome) -> str | None:
    """Write the outcome of one attempt. Returns the item's new state, or None when this
    worker no longer holds the item (its lease expired and another worker took it over)."""
    with store.uow() as uow:
        now = uow.clock.now()
        row = uow.plan.get(item["id"], for_update=True)
        if row is None or row["state"] != ItemState.RUNNING or row["lease_owner"] != worker \
                or row["attempts"] != item["attempts"]:
            log.warning("outcome discarded: lease lost", item=item["id"], worker=worker)
            return None
        uow.plan.add_attempt({
            "item_id": row["id"], "attempt": row["attempts"], "worker": worker,
            "started_at": now - timedelta(milliseconds=outcome.duration_ms),
            "duration_ms": outcome.duration_ms, "request": outcome.request,
            "status_code": outcome.status_code, "response_excerpt": outcome.response_excerpt,
            "outcome": outcome.kind, "error": outcome.error})
        order = uow.orders.get(row["order_id"], for_update=True)
        assert order is not None
        lease_free = {"lease_owner": None, "lease_until": None}
        if outcome.ok:
            _apply_outputs(uow, row, outcome)
            for asset in outcome.assets:
                _record_asset(uow, order, asset, now)
            transition_item(uow, row, ItemState.COMPLETED, "done", output=outcome.output,
                            finished_at=now, last_error=None, **lease_free)
            _release_successors(uow, row, now)
            _maybe_complete(uow, order)
            state = ItemState.COMPLETED
        else:
            policy = RetryPolicy.model_validate(row["spec"]["retry"]) if row["spec"].get("retry") else None
            if outcome.retryable and attempts_left(policy, row["attempts"]):
                assert policy is not None
                delay = next_delay(policy, row["attempts"], _rng, outcome.retry_after)
                transition_item(uow, row, ItemState.RETRYING,
                                f"attempt {row['attempts']} failed: {outcome.error}; next in "
                                f"{delay.total_seconds():.1f}s",
                                not_before=now + delay, last_error=outcome.error, **lease_free)
                state = ItemState.RETRYING
            else:
                why = "retries spent" if outcome.retryable else "fatal error"
                transition_item(uow, row, ItemState.FALLOUT, f"{why}: {outcome.error}",
                                last_error=outcome.error, finished_at=now, **lease_free)
                if order["state"] in (OrderState.ACKNOWLEDGED, OrderState.IN_PROGRESS):
                    transition_order(uow, order, OrderState.HELD,
                                     f"plan item {row['name']} is in fallout")
                state = ItemState.FALLOUT
        uow.commit()
        return state


def _apply_outputs(uow, row: dict[str, Any], outcome: Outcome) -> None:
    outputs = row["spec"].get("outputs") or {}
    if not outputs or row["line_id"] is None:
        return
    line = uow.orders.line(row["order_id"], row["revision"], row["line_id"])
    if line is None:
        return
    attrs = dict(line["attributes"])
    for attr_name, field in outputs.items():
        if field in outcome.output:
            attrs[attr_name] = outcome.output[field]
    uow.orders.update_line_attributes(row["order_id"], row["revision"], row["line_id"], attrs)


def _record_asset(uow, order: dict[str, Any], asset: dict[str, Any], now) -> None:
    if uow.assets.for_order_item(order["id"], asset["order_item_id"]):
        return  # already recorded (the step is idempotent)
    asset_id = new_id()
    uow.assets.add({
        "id": asset_id, "customer_id": order["customer_id"], "offering_id": asset["offering_id"],
        "name": asset["offering_id"], "status": "active", "attributes": asset["attributes"],
        "order_id": order["id"], "order_item_id": asset["order_item_id"], "lines": asset["lines"],
        "billing_account_id": asset.get("billing_account_id"),
        "created_at": now, "updated_at": now})
    uow.events.add("ProductCreateEvent", {"product": asset_id, "offering": asset["offering_id"],
                                          "order_item": asset["order_item_id"]},
                   now, order_id=order["id"])


def _release_successors(uow, row: dict[str, Any], now) -> None:
    freed = uow.plan.decrement_pending(uow.plan.successors(row["id"]), now)
    for succ in freed:
        transition_item(uow, succ, ItemState.READY, f"dependencies done (last: {row['name']})")
    if freed:
        uow.plan.released()


def _maybe_complete(uow, order: dict[str, Any]) -> None:
    if uow.plan.count_unfinished(order["id"], order["revision"]) == 0:
        transition_order(uow, order, OrderState.COMPLETED, "every plan item is done",
                         completion_date=uow.clock.now())
