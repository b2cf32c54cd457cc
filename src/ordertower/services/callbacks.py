"""Use case: an asynchronous callout's reply arrives at its single-use callback URL.

Payload: ``{"status": "inProgress" | "completed" | "failed", "result": {...},
"attributes": {...}, "error": "...", "retryable": false}``. ``inProgress`` (interim) updates
the line's attributes and keeps the item waiting; ``completed`` completes it (``result`` is
its output); ``failed`` takes the failure path. A wrong token is 404, a used one 409 (a
repeated final reply), an expired or superseded one 410; none of them changes anything.

A reply that arrives after its order was cancelled is accepted (200): the system did, or
failed to do, the work it was asked for, and refusing its answer would only make it try again.
While the cancellation is under way (the order ``pendingCancellation``, the item still
waiting) the reply is applied like any other: ``completed`` completes the item and its
compensation, if it declares one, then runs; ``failed`` is discarded with the withdrawn work.
Once the order is ``cancelled`` (the item was withdrawn or timed out meanwhile) nothing changes
state; the reply is recorded in the order's history (``PlanItemCallbackAfterCancellationEvent``)
and logged, so that an operator can undo by hand work reported done on a cancelled order.
"""

from __future__ import annotations

from typing import Any

import structlog

from ..engine.conflicts import retrying
from ..domain.errors import Issue, NotFound
from ..domain.lifecycle import ItemState, OrderState
from ..engine import callback_tokens, items, locks
from ..engine.actors import acting_as, callback_actor, set_actor
from .errors import BadInput, Conflict, Gone
from ..engine.ports import Store

STATUSES = ("inProgress", "completed", "failed")
# an item in one of these got its final reply (or was completed otherwise): a later one repeats
APPLIED = (ItemState.COMPLETED, ItemState.COMPENSATING, ItemState.COMPENSATED)
LATE = "PlanItemCallbackAfterCancellationEvent"
log = structlog.get_logger("ordertower.callbacks")


def _validate(payload: Any, line_product, catalog) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadInput([Issue("body", "expected a JSON object")])
    issues = []
    status = payload.get("status")
    if status not in STATUSES:
        issues.append(Issue("status", f"expected one of {', '.join(STATUSES)}"))
    for name in ("result", "attributes"):
        if name in payload and payload[name] is not None and not isinstance(payload[name], dict):
            issues.append(Issue(name, "expected a JSON object"))
    attrs = payload.get("attributes") or {}
    if isinstance(attrs, dict) and attrs:
        product = catalog.technical_by_id.get(line_product) if line_product else None
        for name in attrs:
            if product is None or product.attribute(name) is None:
                issues.append(Issue(f"attributes.{name}", f"not an attribute of '{line_product}'"))
    if issues:
        raise BadInput(issues, "The callback is not valid.")
    return payload


@retrying
def receive_callback(store: Store, catalog, token: str, payload: Any) -> dict[str, Any]:
    with store.uow() as uow, acting_as(callback_actor(None)):
        now = uow.clock.now()
        hashed = callback_tokens.token_hash(token)
        peek = uow.orchestration.token(hashed)
        if peek is None:
            raise NotFound("callback", "(token)")
        item_peek = uow.plan.get(peek["item_id"])
        set_actor(callback_actor(item_peek.get("system")))  # reset when acting_as ends
        order, item = locks.lock(uow, item_peek["order_id"], item_peek["id"])  # order, item, token
        row = uow.orchestration.token(hashed, for_update=True)
        line = uow.orders.line(item["order_id"], item["revision"], item["line_id"]) if item["line_id"] else None
        if order["state"] == OrderState.CANCELLED and item["state"] not in APPLIED:
            payload = _validate(payload, line["technical_product"] if line else None, catalog)
            return _after_cancellation(uow, row, item, payload, now)
        if row["used_at"] is not None:
            raise Conflict("this callback URL was already used for the final reply", "token")
        if row["expires_at"] is not None and row["expires_at"] <= now:
            raise Gone("this callback URL has expired")
        if item["attempts"] != row["attempt"]:
            raise Gone("this callback URL belongs to an earlier attempt")
        payload = _validate(payload, line["technical_product"] if line else None, catalog)
        if item["state"] not in (ItemState.WAITING, ItemState.RUNNING):
            raise Conflict(f"plan item is {item['state']}, no longer waiting for a reply", "token")
        status = payload["status"]
        items.update_line(uow, item, payload.get("attributes") or {})
        if status == "inProgress":
            uow.orchestration.update_token(row["token_hash"], interim_count=row["interim_count"] + 1)
            uow.events.add("PlanItemProgressEvent", {"item": item["id"], "key": item["key"],
                                                     "attributes": payload.get("attributes") or {}},
                           now, order_id=item["order_id"], item_id=item["id"])
            state = item["state"]
        elif item["state"] == ItemState.RUNNING:
            # the reply overtook the recording of the 202: kept for when the 202 is recorded
            uow.orchestration.update_token(row["token_hash"], used_at=now, early_result=payload)
            state = ItemState.RUNNING
        else:
            uow.orchestration.update_token(row["token_hash"], used_at=now)
            if status == "completed":
                state = items.complete(uow, item, order, payload.get("result") or {}, "callback: completed")
            else:
                state = items.fail(uow, item, order, payload.get("error") or "the system reported failure",
                                      bool(payload.get("retryable")))
        uow.commit()
        return {"item": item["id"], "state": str(state), "status": status, "applied": True}


def _after_cancellation(uow, token: dict[str, Any], item: dict[str, Any], payload: dict[str, Any],
                        now) -> dict[str, Any]:
    """The order is cancelled: record the reply, change nothing. The first final reply is
    recorded; a repeat of it is refused like any repeated final reply (409)."""
    status = payload["status"]
    final = status != "inProgress"
    if final and any(e["item_id"] == item["id"] and e["payload"].get("status") != "inProgress"
                     for e in uow.events.for_order(item["order_id"], [LATE])):
        raise Conflict("this callback URL was already used for the final reply", "token")
    if final and token["used_at"] is None:
        uow.orchestration.update_token(token["token_hash"], used_at=now)
    uow.events.add(LATE, {
        "item": item["id"], "key": item["key"], "status": status,
        "result": payload.get("result") or {}, "error": payload.get("error"),
        "item_state": item["state"], "cause": "callback: after the order was cancelled"},
        now, order_id=item["order_id"], item_id=item["id"])
    uow.commit()
    log.warning("callback after the order was cancelled: recorded, nothing changed",
                order_id=item["order_id"], item_id=item["id"], key=item["key"], status=status,
                item_state=item["state"])
    return {"item": item["id"], "state": str(item["state"]), "status": status, "applied": False}
