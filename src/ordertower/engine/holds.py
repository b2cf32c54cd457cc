"""Items held while their fulfillment system is offline.

An operator takes a system offline (services/systems.py), or its circuit breaker opens
(engine/breaker.py): its ``ready`` and ``retrying`` items go ``onHold``; online again (the
breaker closed), they go back to ``ready``. Items that become ready while
it is offline are held where they are released (engine/items.py, the planning of an order or
a revision). Those writers read the system's state when they run, so a writer that read it
just before an operator changed it can leave an item on the wrong side (held by an online
system, or ready for an offline one). ``sweep_holds``, part of every worker cycle, puts such
items right; like every sweep it never waits for a lock (engine/locks.py).
"""

from __future__ import annotations

from typing import Any

from .conflicts import retrying
from ..domain.lifecycle import ItemState
from .locks import by_order, lock_if_free
from .transitions import transition_item
from .ports import Store, UnitOfWork

HOLDABLE = (ItemState.READY, ItemState.RETRYING)


def follow_system(uow: UnitOfWork, row: dict[str, Any], offline: bool, cause: str) -> bool:
    """Hold a locked item of an offline system, or free a held one of an online system.
    Returns whether it changed (the caller wakes workers when items became ready)."""
    if offline and row["state"] in HOLDABLE:
        transition_item(uow, row, ItemState.ON_HOLD, cause)
        return True
    if not offline and row["state"] == ItemState.ON_HOLD:
        transition_item(uow, row, ItemState.READY, cause, not_before=None)
        return True
    return False


@retrying
def sweep_holds(store: Store, limit: int = 500) -> int:
    """Put right the items on the wrong side of their system's state (see above)."""
    with store.uow() as uow:
        offline = uow.orchestration.offline_systems()
        candidates = uow.plan.hold_drift(offline, limit)
        if not candidates:
            return 0
        changed = freed = 0
        for order_id, rows in by_order(candidates).items():
            held = lock_if_free(uow, order_id, [r["id"] for r in rows])
            if held is None:
                continue
            offline = uow.orchestration.offline_systems()  # as of now, with the rows locked
            for row in held[1].values():
                down = row["system"] in offline
                if follow_system(uow, row, down, _why(uow, row["system"], down)):
                    changed += 1
                    freed += not down
        if freed:
            uow.plan.released()
        uow.commit()
        return changed


def _why(uow: UnitOfWork, system: str, down: bool) -> str:
    """The cause of a hold or a release: an operator's offline, or the system's breaker."""
    if not down:
        return f"system {system} is online"
    state = uow.orchestration.system_states().get(system) or {}
    if state.get("offline"):
        return f"system {system} is offline"
    return f"circuit breaker of {system} is {state.get('breaker_state', 'open')}"
