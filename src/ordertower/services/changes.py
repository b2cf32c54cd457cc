"""What an amendment or a cancellation does with work already planned (shared by both).

- Work not started (pending, ready, on hold, retrying) and work in fallout is ``cancelled``.
- A task or a wait nobody needs any more is withdrawn (``waiting -> cancelled``); whoever held
  the task is notified (``TaskWithdrawnEvent`` and a note on the task: engine/tasks.py).
- Work running now (or an asynchronous request in flight) finishes: its outcome is kept and
  reconciled (its compensation, if any, waits for it).
- Completed work follows its item's compensation strategy: ``undo`` runs its compensation,
  ``manual`` makes a task to undo it by hand, ``ignore`` and ``redo`` leave it (``redo``
  means the new revision runs the work again with the new data).
- Compensations run in reverse order of execution: each waits for the one undoing later work.
- Each piece of work is undone once, by an item named after it (``domain.revisions.undo_of``):
  an item whose undoing is already planned is not undone again.
- A completed ``assetize`` item (what a bundle recorded in the installed base) is restored at
  once, in the same transaction: assets it created are terminated, attributes and inventory
  items it changed get their previous values back (``inventory.restoring_changes``), and the
  item is ``compensated``. An ``assetize`` still running records nothing when it ends.
"""

from __future__ import annotations

from typing import Any

from ..domain.ids import new_id
from ..domain.lifecycle import ItemState
from ..domain.revisions import undo_of
from ..domain.stored_plan import NewPlanItem
from ..engine.tasks import withdraw_task
from ..engine.transitions import transition_item
from ..engine.ports import UnitOfWork

UNSTARTED = (ItemState.PENDING, ItemState.READY, ItemState.ON_HOLD, ItemState.RETRYING, ItemState.FALLOUT)


def strategy(row: dict[str, Any]) -> str:
    return row["spec"].strategy()


def needs_undoing(row: dict[str, Any], cancelling: bool) -> bool:
    """``undo`` and ``manual`` always; ``redo`` only when the order is cancelled (there is no
    new data to run it with) and it declares a compensation; ``ignore`` never. Work whose
    undoing is already planned is never undone twice."""
    if row["spec"].compensated_by is not None:
        return False
    how = strategy(row)
    return how in ("undo", "manual") or (cancelling and how == "redo"
                                         and row["spec"].compensation is not None)


def withdraw(uow: UnitOfWork, rows: list[dict[str, Any]], revision: int, cause: str, *,
             cancelling: bool) -> dict[str, Any]:
    """Stop the given plan items and plan the compensations their completed work needs.

    Returns what was done: ids cancelled, left running, kept, and the compensation rows
    created (in ``revision``), chained in reverse order of execution."""
    now = uow.clock.now()
    done: dict[str, Any] = {"cancelled": [], "running": [], "kept": [], "compensations": [],
                            "restored": []}
    to_undo: list[dict[str, Any]] = []
    recorded = [r for r in rows if r["state"] == ItemState.COMPLETED and r["spec"].recorded]
    far_future = now.replace(year=9999)
    for row in sorted(recorded, key=lambda r: (r["finished_at"] or far_future), reverse=True):
        _restore_installed_base(uow, row, cause)
        done["restored"].append(row["id"])
    for row in rows:
        if row["id"] in done["restored"]:
            continue
        if row["spec"].compensates:
            continue  # an undoing under way is never withdrawn: it must happen
        state = row["state"]
        if state in UNSTARTED:
            transition_item(uow, row, ItemState.CANCELLED, cause, not_before=None, lease_owner=None,
                            lease_until=None)
            done["cancelled"].append(row["id"])
        elif state == ItemState.WAITING and row["type"] in ("manual", "wait"):
            task = uow.orchestration.task_for_item(row["id"])
            if task is not None:  # whoever holds it is told (event and note), never left guessing
                withdraw_task(uow, task, cause)
            transition_item(uow, row, ItemState.CANCELLED, cause)
            done["cancelled"].append(row["id"])
        elif state in (ItemState.RUNNING, ItemState.WAITING):
            done["running"].append(row["id"])
            if needs_undoing(row, cancelling):
                to_undo.append(row)
        elif state == ItemState.COMPLETED and row["type"] in ("callout", "manual"):
            if needs_undoing(row, cancelling):
                to_undo.append(row)
            else:
                done["kept"].append(row["id"])
    # reverse order of execution: work still running finishes last, so it is undone first
    to_undo.sort(key=lambda r: (r["finished_at"] or far_future), reverse=True)
    previous: str | None = None
    offline = uow.orchestration.offline_systems() if to_undo else set()
    for row in to_undo:
        waits_for = [row["id"]] if row["state"] in (ItemState.RUNNING, ItemState.WAITING) else []
        if previous:
            waits_for.append(previous)
        planned = undo_of(row, [uow.plan.key_of(d) for d in waits_for])
        comp = NewPlanItem.start(planned, id=new_id(), revision=revision,
                                 position=100_000 + row["position"],
                                 open_dependencies=len(waits_for), offline_systems=offline)
        uow.plan.insert_new(row["order_id"], [comp], [{"item_id": comp.id, "depends_on_id": d}
                                                      for d in waits_for], now)
        uow.plan.set_spec(row["id"], row["spec"].evolve(compensated_by=comp.id))
        if row["state"] == ItemState.COMPLETED:
            transition_item(uow, row, ItemState.COMPENSATING, f"{cause}: compensation planned")
        uow.events.add("PlanItemStateChangeEvent", {
            "item": comp.id, "key": planned.key, "name": planned.name, "from": None,
            "to": comp.state, "cause": f"compensates {row['name']} ({cause})"}, now,
            order_id=row["order_id"], item_id=comp.id)
        done["compensations"].append(comp.id)
        previous = comp.id
    if done["compensations"]:
        uow.plan.released()
    return done


def _restore_installed_base(uow: UnitOfWork, row: dict[str, Any], cause: str) -> None:
    """Undo what a completed ``assetize`` item recorded, newest change first."""
    now = uow.clock.now()
    order = uow.orders.get(row["order_id"])
    for record in reversed(row["spec"].recorded):
        for kind, payload in uow.inventory.restore_change(order, dict(record), now):
            uow.events.add(kind, payload, now, order_id=row["order_id"])
    undoing = transition_item(uow, row, ItemState.COMPENSATING, f"{cause}: installed base to restore")
    transition_item(uow, undoing, ItemState.COMPENSATED, f"{cause}: installed base restored")

