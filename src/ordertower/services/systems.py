"""Use cases of fulfillment systems: their state, and taking one offline or online.

Offline: its ready (and retrying) callouts go ``onHold``, and those that become ready later
are held too; no attempt is spent and no point of no return is reached. Online again: held
items go back to ``ready`` in the order they were planned. Locks (engine/locks.py): the
orders of the system's items in id order, then those items, then the system's state row; a
writer that raced with the change is put right by the workers' ``sweep_holds``.
"""

from __future__ import annotations

from typing import Any

from ..domain.ids import new_id
from ..engine.conflicts import retrying
from ..domain.errors import NotFound
from ..domain.lifecycle import ItemState
from ..engine import breaker, locks
from ..engine.holds import HOLDABLE, follow_system
from ..engine.ports import Store

COUNTED = ("ready", "running", "waiting", "retrying", "onHold", "fallout")


def list_systems(store: Store, catalog, only: str | None = None) -> list[dict[str, Any]]:
    """Every system of the catalog with its state and item counts (``only``: that one)."""
    with store.read() as uow:
        states = uow.orchestration.system_states()
        out = []
        for system in catalog.systems:
            if only is not None and system.id != only:
                continue
            counts = uow.plan.count_by_state(system.id)
            st = states.get(system.id, {})
            out.append({"id": system.id, "name": system.name, "base_url": system.base_url,
                        "concurrency": system.concurrency, "rate_limit": system.rate_limit,
                        "timeout_s": system.timeout.total_seconds(),
                        "offline": bool(st.get("offline")), "reason": st.get("reason"),
                        "changed_by": st.get("changed_by"),
                        # an operator's last change (a row the breaker made has no changed_by)
                        "changed_at": st["changed_at"].isoformat() if st.get("changed_by") else None,
                        "breaker": _breaker_view(system, st),
                        "items": counts})
        return out


def _breaker_view(system, st: dict[str, Any]) -> dict[str, Any]:
    """The system's circuit breaker: its state and its thresholds (engine/breaker.py)."""
    b = breaker.status(st or None)
    policy = system.breaker
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    return {"state": b.state.value, "consecutive_failures": b.failures, "opened_at": iso(b.opened_at),
            "probe_until": iso(b.probe_until) if b.state == "half-open" else None,
            "changed_at": iso(st.get("breaker_changed_at")) if st else None,
            "enabled": policy.enabled, "failures": policy.failures,
            "probe_after_s": policy.probe_after.total_seconds(), "health_path": system.health_path}


@retrying
def set_offline(store: Store, catalog, system: str, offline: bool, actor: str, reason: str | None) -> dict[str, Any]:
    if system not in catalog.system_by_id:
        raise NotFound("system", system)
    with store.uow() as uow:
        now = uow.clock.now()
        candidates = locks.by_order(uow.plan.of_system(system, HOLDABLE if offline else [ItemState.ON_HOLD]))
        locks.lock_orders(uow, candidates)
        changed = 0
        cause = f"system {system} {'offline' if offline else 'online'} ({actor})"
        for order_id, rows in candidates.items():
            for item in locks.lock_order_items(uow, order_id, [r["id"] for r in rows]):
                changed += follow_system(uow, item, offline, cause)  # unless changed meanwhile
        if changed and not offline:
            uow.plan.released()
        tripped = breaker.status(uow.orchestration.breaker(system, for_update=True))  # last lock
        uow.orchestration.set_system_state(system, offline, reason, actor, now)
        if not offline and tripped.holds:  # an operator's online closes the breaker too
            breaker.announce(uow, system, tripped.state, "closed", 0, f"set online by {actor}",
                             manual_offline=False, actor=actor)
        uow.orchestration.add_action({
            "id": new_id(), "dedupe_key": f"system:{system}:{new_id()}",
            "action": "offline" if offline else "online", "item_id": None, "order_id": None,
            "actor": actor, "reason": reason, "details": {"system": system, "items": changed},
            "created_at": now})
        uow.events.add("SystemStateChangeEvent", {"system": system, "offline": offline,
                                                  "actor": actor, "reason": reason, "items": changed}, now)
        uow.commit()
    [view] = list_systems(store, catalog, only=system)  # its counts only, not every system's
    return view
