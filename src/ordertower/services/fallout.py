"""Use cases of the fallout queue: list it, and the operator's actions on it.

Actions: ``retry`` (optionally with an edited request body), ``complete`` (by hand, with
output), ``skip``, and ``cancel`` (the order). Each is audited (who, when, why, what) and
idempotent: the same action on the same fallout acts once; a repeat returns the first
result with ``repeated: true``. Bulk actions apply one action to every item a filter finds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..domain.ids import new_id
from ..engine.conflicts import retrying
from ..domain.errors import Issue, NotFound
from ..domain.lifecycle import ItemState
from ..engine import items, locks, order_state
from ..engine.transitions import transition_item
from .errors import BadInput, Conflict
from ..engine.ports import Store

ACTIONS = ("retry", "complete", "skip", "cancel")


def list_fallout(store: Store, system: str | None = None, error: str | None = None,
                 older_than_s: float | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
    with store.read() as uow:
        now = uow.clock.now()
        before = None
        if older_than_s is not None:
            before = now - timedelta(seconds=older_than_s)
        items = uow.plan.in_fallout(system, error, before, order_id)
        for item in items:
            attempts = uow.plan.attempts(item["id"])
            item["last_attempt"] = attempts[-1] if attempts else None
            item["age_s"] = (now - item["finished_at"]).total_seconds() if item["finished_at"] else None
        return items


def group_by_error(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[str]] = {}
    for item in items:
        groups.setdefault(item["last_error"] or "", []).append(item["id"])
    return [{"error": e, "count": len(ids), "items": ids}
            for e, ids in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


@retrying
def act(store: Store, item_id: str, action: str, actor: str, reason: str | None = None,
        request_body: Any = None, output: Any = None, dedupe: str | None = None) -> dict[str, Any]:
    if action not in ACTIONS:
        raise BadInput([Issue("action", f"expected one of {', '.join(ACTIONS)}")])
    if output is not None and not isinstance(output, dict):
        raise BadInput([Issue("output", "expected a JSON object")])
    with store.uow() as uow:
        peek = uow.plan.get(item_id)
        if peek is None:
            raise NotFound("plan item", item_id)
        order, item = locks.lock(uow, peek["order_id"], item_id)
        # one fallout episode of an item = its attempt count (a new fallout needs a new attempt)
        key = dedupe or f"{action}:{item_id}:{item['attempts']}"
        done = uow.orchestration.action(key)
        if done is not None:
            return _result(done, repeated=True)
        if item["state"] != ItemState.FALLOUT:
            raise Conflict(f"plan item is {item['state']}, not in fallout", "item")
        now = uow.clock.now()
        cause = f"{action} by {actor}" + (f": {reason}" if reason else "")
        details: dict[str, Any] = {"from_state": item["state"], "error": item["last_error"]}
        if action == "retry":
            spec = item["spec"].evolve(attempt_offset=item["attempts"])
            if request_body is not None:
                spec = spec.with_override(request_body)
                details["request_body"] = request_body
            uow.plan.set_spec(item_id, spec)
            transition_item(uow, item, ItemState.READY, cause, not_before=None, finished_at=None)
            uow.plan.released()
            order_state.settle_order(uow, order["id"])
        elif action == "complete":
            details["output"] = output or {}
            items.complete(uow, item, order, output or {}, cause)
        elif action == "skip":
            skipped = transition_item(uow, item, ItemState.SKIPPED, cause, finished_at=now)
            items.release_successors(uow, skipped)
            order_state.settle_order(uow, order["id"])
        else:
            from .cancel_order import cancel_in

            details["order_state"] = cancel_in(uow, order, f"cancelled from fallout by {actor}"
                                               + (f": {reason}" if reason else ""))
        record = {"id": new_id(), "dedupe_key": key, "action": action, "item_id": item_id,
                  "order_id": item["order_id"], "actor": actor, "reason": reason,
                  "details": details, "created_at": now}
        uow.orchestration.add_action(record)
        uow.events.add("OperatorActionEvent", {"action": action, "item": item_id, "actor": actor,
                                               "reason": reason}, now, order_id=item["order_id"],
                       item_id=item_id)
        uow.commit()
        return _result(record, repeated=False)


def act_in_bulk(store: Store, action: str, actor: str, reason: str | None = None, system: str | None = None,
                error: str | None = None, older_than_s: float | None = None,
                dedupe: str | None = None) -> list[dict[str, Any]]:
    if not any(v is not None for v in (system, error, older_than_s)):
        raise BadInput([Issue("filter", "name at least one of system, error, older_than")])
    results = []
    for item in list_fallout(store, system, error, older_than_s):
        try:
            results.append(act(store, item["id"], action, actor, reason,
                               dedupe=f"{dedupe}:{item['id']}" if dedupe else None))
        except Conflict as exc:  # changed meanwhile (e.g. its order was cancelled)
            results.append({"item": item["id"], "action": action, "error": exc.detail})
    return results


def _result(record: dict[str, Any], repeated: bool) -> dict[str, Any]:
    return {"id": record["id"], "action": record["action"], "item": record["item_id"],
            "order": record["order_id"], "actor": record["actor"], "reason": record["reason"],
            "details": record["details"], "at": record["created_at"].isoformat(), "repeated": repeated}
