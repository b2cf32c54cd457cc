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
from ..engine import locks
from ..engine.holds import HOLDABLE, follow_system
from ..engine.ports import Store

COUNTED = ("ready", "running", "waiting", "retrying", "onHold", "fallout")


def list_systems(store: Store, catalog) -> list[dict[str, Any]]:
    with store.read() as uow:
        states = uow.orchestration.system_states()
        out = []
        for system in catalog.systems:
            counts = uow.plan.count_by_state(system.id)
            st = states.get(system.id, {})
            out.append({"id": system.id, "name": system.name, "base_url": system.base_url,
                        "concurrency": system.concurrency, "rate_limit": system.rate_limit,
                        "timeout_s": system.timeout.total_seconds(),
                        "offline": bool(st.get("offline")), "reason": st.get("reason"),
                        "changed_by": st.get("changed_by"),
                        "changed_at": st["changed_at"].isoformat() if st.get("changed_at") else None,
                        "items": counts})
        return out


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
        uow.orchestration.set_system_state(system, offline, reason, actor, now)
        uow.orchestration.add_action({
            "id": new_id(), "dedupe_key": f"system:{system}:{new_id()}",
            "action": "offline" if offline else "online", "item_id": None, "order_id": None,
            "actor": actor, "reason": reason, "details": {"system": system, "items": changed},
            "created_at": now})
        uow.events.add("SystemStateChangeEvent", {"system": system, "offline": offline,
                                                  "actor": actor, "reason": reason, "items": changed}, now)
        uow.commit()
    return next(s for s in list_systems(store, catalog) if s["id"] == system)
