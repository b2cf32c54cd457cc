"""Use cases of the fallout queue: list it, and the operator's actions on it.

Actions: ``retry`` (optionally with an edited request body), ``complete`` (by hand, with
output), ``skip``, and ``cancel`` (the order). Each is audited (who, when, why, what) and
idempotent: the same action on the same fallout acts once; a repeat returns the first
result with ``repeated: true``. Bulk actions apply one action to every item a filter finds,
or to the items selected.

Assignment: an item in fallout is assigned to a user or a queue, by hand (``assign``, one
item or in bulk) or by the first matching fallout rule when it falls out
(engine/fallout_assignment.py; rules are data: ``add_rule``, ``list_rules``, ``delete_rule``).
Every assignment is an audited event (``FalloutAssignEvent``, its actor the user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..domain.ids import new_id
from ..engine.conflicts import retrying
from ..domain.errors import Issue, NotFound
from ..domain.fallout_rules import rule_issues
from ..domain.lifecycle import ItemState
from ..engine import items, locks, order_state
from ..engine.transitions import transition_item
from .errors import BadInput, Conflict
from ..engine.ports import Store

ACTIONS = ("retry", "complete", "skip", "cancel")
BULK_ACTIONS = ("retry", "skip", "complete", "assign")


def list_fallout(store: Store, system: str | None = None, error: str | None = None,
                 older_than_s: float | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
    with store.read() as uow:
        now = uow.clock.now()
        before = None
        if older_than_s is not None:
            before = now - timedelta(seconds=older_than_s)
        items = uow.plan.in_fallout(system, error, before, order_id)
        assigned = uow.fallout_work.assignments(i["id"] for i in items)
        for item in items:
            item["assignment"] = assigned.get(item["id"])
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


def _one_of_many(store: Store, item_id: str, action: str, actor: str, reason: str | None,
                 dedupe: str | None, output: Any = None, to: "Target | None" = None,
                 known_queues: list[str] | None = None) -> dict[str, Any]:
    if action == "assign":
        assert to is not None
        return assign(store, item_id, to, actor, known_queues or [], reason)
    return act(store, item_id, action, actor, reason, output=output if action == "complete" else None,
               dedupe=f"{dedupe}:{item_id}" if dedupe else None)


def act_in_bulk(store: Store, action: str, actor: str, reason: str | None = None, system: str | None = None,
                error: str | None = None, older_than_s: float | None = None,
                dedupe: str | None = None, output: Any = None, to: "Target | None" = None,
                known_queues: list[str] | None = None) -> list[dict[str, Any]]:
    if not any(v is not None for v in (system, error, older_than_s)):
        raise BadInput([Issue("filter", "name at least one of system, error, older_than")])
    _check_bulk(store, action, output, to, known_queues)
    results = []
    for item in list_fallout(store, system, error, older_than_s):
        try:
            results.append(_one_of_many(store, item["id"], action, actor, reason, dedupe, output, to,
                                        known_queues))
        except Conflict as exc:  # changed meanwhile (e.g. its order was cancelled)
            results.append({"item": item["id"], "action": action, "error": exc.detail})
    return results


def _check_bulk(store: Store, action: str, output: Any, to: "Target | None",
                known_queues: list[str] | None) -> None:
    """Refuse a bulk action that would fail on every item, before any acts."""
    if action not in BULK_ACTIONS:
        raise BadInput([Issue("action", f"expected one of {', '.join(BULK_ACTIONS)}")])
    if output is not None and not isinstance(output, dict):
        raise BadInput([Issue("output", "expected a JSON object")])
    if action == "assign":
        if to is None:
            raise BadInput([Issue("to", "assign names a user or a queue: {\"user\": ...} or {\"queue\": ...}")])
        if to.queue is not None and to.queue not in (known_queues or []):
            raise BadInput([Issue("to.queue", f"unknown work queue '{to.queue}'")])
        if to.user is not None:
            with store.read() as uow:
                if uow.people.user(to.user) is None:
                    raise BadInput([Issue("to.user", f"no user named '{to.user}'")])


MAX_SELECTED = 500


def act_on_selected(store: Store, item_ids: list[str], action: str, actor: str, reason: str | None = None,
                    dedupe: str | None = None, output: Any = None, to: "Target | None" = None,
                    known_queues: list[str] | None = None) -> list[dict[str, Any]]:
    """One action on each of the items an operator selected (the console's bulk retry and
    skip; complete and assign): each acts in its own transaction; an item gone from fallout
    meanwhile, or unknown, gets its error in the results and the others go on."""
    if not item_ids:
        raise BadInput([Issue("items", "select at least one item")])
    if len(item_ids) > MAX_SELECTED:
        raise BadInput([Issue("items", f"at most {MAX_SELECTED} items at once")])
    _check_bulk(store, action, output, to, known_queues)
    results = []
    for item_id in dict.fromkeys(item_ids):  # once each, in the order given
        try:
            results.append(_one_of_many(store, item_id, action, actor, reason, dedupe, output, to,
                                        known_queues))
        except (Conflict, NotFound) as exc:
            results.append({"item": item_id, "action": action, "error": exc.detail})
    return results


def _result(record: dict[str, Any], repeated: bool) -> dict[str, Any]:
    return {"id": record["id"], "action": record["action"], "item": record["item_id"],
            "order": record["order_id"], "actor": record["actor"], "reason": record["reason"],
            "details": record["details"], "at": record["created_at"].isoformat(), "repeated": repeated}


# --- assignment ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Whom fallout is assigned to: a user or a queue (exactly one)."""

    user: str | None = None
    queue: str | None = None

    @classmethod
    def parse(cls, raw: Any, where: str = "to") -> "Target":
        if not isinstance(raw, dict) or set(raw) - {"user", "queue"} or \
                sum(isinstance(raw.get(k), str) and bool(raw[k].strip()) for k in ("user", "queue")) != 1 \
                or len(raw) != 1:
            raise BadInput([Issue(where, "expected {\"user\": NAME} or {\"queue\": ID}")])
        return cls(user=raw.get("user"), queue=raw.get("queue"))


@retrying
def assign(store: Store, item_id: str, to: Target, actor: str, known_queues: list[str],
           reason: str | None = None) -> dict[str, Any]:
    """Assign an item in fallout to a user (one who may work fallout: any user not a mere
    viewer) or a queue; replaces an earlier assignment. Audited."""
    if to.queue is not None and to.queue not in known_queues:
        raise BadInput([Issue("to.queue", f"unknown work queue '{to.queue}'")])
    with store.uow() as uow:
        peek = uow.plan.get(item_id)
        if peek is None:
            raise NotFound("plan item", item_id)
        _, item = locks.lock(uow, peek["order_id"], item_id)
        if item["state"] != ItemState.FALLOUT:
            raise Conflict(f"plan item is {item['state']}, not in fallout", "item")
        if to.user is not None and uow.people.user(to.user) is None:
            raise BadInput([Issue("to.user", f"no user named '{to.user}'")])
        now = uow.clock.now()
        row = {"item_id": item_id, "order_id": item["order_id"], "user_name": to.user, "queue": to.queue,
               "rule_id": None, "assigned_by": actor, "assigned_at": now}
        uow.fallout_work.assign(row)
        uow.events.add("FalloutAssignEvent", {"item": item_id, "user": to.user, "queue": to.queue,
                                              "rule": None, "reason": reason, "actor": actor}, now,
                       order_id=item["order_id"], item_id=item_id)
        uow.commit()
    return {"item": item_id, "action": "assign", "order": row["order_id"], "user": to.user,
            "queue": to.queue, "actor": actor, "reason": reason, "at": now.isoformat()}


def list_rules(store: Store) -> list[dict[str, Any]]:
    with store.read() as uow:
        return uow.fallout_work.rules()


@retrying
def add_rule(store: Store, body: Any, actor: str, known_queues: list[str]) -> dict[str, Any]:
    """A fallout rule ``{"system"?, "error"?, "product"?, "user" | "queue"}``, tried after the others."""
    if not isinstance(body, dict):
        raise BadInput([Issue("body", "expected a JSON object")])
    fields = ("system", "error", "product", "user", "queue")
    issues = [Issue(k, f"unknown field (send {', '.join(fields)})") for k in sorted(set(body) - set(fields))]
    issues += rule_issues(body)
    if isinstance(body.get("queue"), str) and body["queue"] not in known_queues:
        issues.append(Issue("queue", f"unknown work queue '{body['queue']}'"))
    if issues:
        raise BadInput(issues, "The fallout rule is not valid.")
    with store.uow() as uow:
        if body.get("user") and uow.people.user(body["user"]) is None:
            raise BadInput([Issue("user", f"no user named '{body['user']}'")])
        now = uow.clock.now()
        row = uow.fallout_work.add_rule({
            "id": new_id(), "system": body.get("system"), "error": body.get("error"),
            "product": body.get("product"), "user_name": body.get("user"), "queue": body.get("queue"),
            "created_by": actor, "created_at": now})
        uow.events.add("FalloutRuleCreateEvent", {"rule": row["id"], "actor": actor,
                                                  **{k: body.get(k) for k in fields}}, now)
        uow.commit()
        return row


@retrying
def delete_rule(store: Store, rule_id: str, actor: str) -> dict[str, Any]:
    with store.uow() as uow:
        row = uow.fallout_work.rule(rule_id)
        if row is None:
            raise NotFound("fallout rule", rule_id)
        uow.fallout_work.delete_rule(rule_id)
        uow.events.add("FalloutRuleDeleteEvent", {"rule": rule_id, "actor": actor}, uow.clock.now())
        uow.commit()
        return row
