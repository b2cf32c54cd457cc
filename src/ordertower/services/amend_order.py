"""Use case: amend an in-flight order (TMF622 PATCH productOrder/{id} with the new
``productOrderItem`` list): a supplemental revision.

1. ``queue_revision``: validate the new items (bad input: 4xx, nothing stored) and queue the
   revision with its number (given, or the next one). A number not newer than the order's
   revision is stale (409).
2. ``apply_revisions``: under the order's lock (so revisions apply one at a time, and no
   worker records an outcome meanwhile), take the newest queued revision; older queued ones
   are superseded. Decompose it, compare line by line with the current revision, refuse it if
   it touches a bundle with an item created ``changesAllowed: false``, or a bundle past its
   point of no return (409 naming the items) unless it is forced and every point of no return
   it passes declares a compensation (``force``, an operator's, with a reason: audited), else
   revise the
   plan in the same transaction: unchanged lines keep their items (and their state), changed
   and removed lines' items are withdrawn (services/changes.py: cancelled, or compensated in
   reverse order of execution), and the new revision's new work waits for those
   compensations. Every revision is kept with its delta and what the plan did. Started
   items flagged ``soft_ponr`` in a touched bundle do not refuse it: each is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..domain.loaded_catalog import LoadedCatalog
from ..domain.ids import new_id
from ..engine.conflicts import retrying
from ..domain.errors import ConcurrentChange, DomainError, InvalidOrder, Issue, NotFound
from ..domain.lifecycle import DONE_ITEM_STATES, ItemState
from ..domain.orders import ItemInput, OrderItem, validate_items, with_asset_ids
from ..domain.revisions import kept_work, line_delta, touched_roots
from ..domain.stored_plan import NewPlanItem
from ..domain.rules import (AMENDABLE_ORDER_STATES, ItemIsPastPointOfNoReturn, OrderIsNotAmendable,
                            PastPonrWithoutCompensation, RevisionIsStale, RevisionSuperseded,
                            check_changes_allowed, without_undo, passed_soft_ponr, past_point_of_no_return)
from ..engine import locks, order_state
from ..domain.service_levels import apply_learned
from ..engine.plan_order import plan_items
from ..engine.transitions import transition_item
from .changes import withdraw
from .place_order import installed_base
from ..engine.ports import Store, UnitOfWork

STARTED_OR_DONE = (ItemState.RUNNING, ItemState.WAITING, ItemState.COMPLETED, ItemState.SKIPPED,
                   ItemState.COMPENSATING, ItemState.COMPENSATED)


@dataclass(frozen=True)
class AmendOrder:
    order_id: str
    items: list[ItemInput]
    body: dict[str, Any] = field(default_factory=dict)
    revision: int | None = None  # the supplemental order's number; default: the next one
    actor: str = "anonymous"
    # set: an operator forces the change past the point of no return, for this reason
    force_reason: str | None = None


@dataclass(frozen=True)
class Amended:
    revision: int  # the order's revision number after it
    warnings: list[dict[str, str]] = field(default_factory=list)  # {"field", "message"}: soft PONRs passed


def amend(store: Store, catalog: LoadedCatalog, cmd: AmendOrder, *,
          catalog_of: Callable[[str | None], LoadedCatalog] | None = None) -> Amended:
    """Queue and apply a revision. Returns the order's revision number after it, and the
    warnings of the soft points of no return it passed. With ``catalog_of`` (version ->
    catalog), the order is revised with the catalog version it was decomposed with, not
    ``catalog`` (a catalog deployed since changes new orders, not the ones in flight)."""
    if catalog_of is not None:
        with store.read() as uow:
            order = uow.orders.get(cmd.order_id)
        if order is not None:
            catalog = catalog_of(order["catalog_version"])
    revision_id = queue_revision(store, catalog, cmd)
    try:
        apply_revisions(store, catalog, cmd.order_id)
    except ConcurrentChange as exc:  # lost every race (retried): refused, never left queued
        _refuse_queued(store, cmd.order_id, revision_id, exc.detail)
    with store.read() as uow:
        row = uow.changes.revision(revision_id)
        order = uow.orders.get(cmd.order_id)
    if row["status"] == "applied":
        return Amended(order["revision"], list((row["plan_actions"] or {}).get("warnings") or []))
    if row["status"] == "superseded":
        raise RevisionSuperseded(row["number"], order["revision"])
    refusal = row["plan_actions"] or {}
    if refusal.get("blocking"):
        if refusal.get("uncompensated"):
            raise PastPonrWithoutCompensation(refusal["blocking"], "amend")
        raise ItemIsPastPointOfNoReturn(refusal["blocking"], "amend")
    raise DomainError(detail=row["reason"] or "The revision was refused.",
                      issues=[Issue(i["field"], i["message"]) for i in refusal.get("issues", [])],
                      title="Revision refused", kind=refusal.get("kind", "conflict"))


@retrying
def queue_revision(store: Store, catalog: LoadedCatalog, cmd: AmendOrder) -> str:
    with store.read() as uow:
        order = uow.orders.get(cmd.order_id)
        if order is None:
            raise NotFound("product order", cmd.order_id)
        queued = uow.changes.revisions(cmd.order_id, "queued")
    if order["state"] not in AMENDABLE_ORDER_STATES:
        raise OrderIsNotAmendable(order["id"], order["state"])
    installed = installed_base(store, order["customer_id"])
    items = validate_items(cmd.items, catalog.catalog, installed)
    if any(i.offering_id is None for i in items):
        raise InvalidOrder([Issue(f"productOrderItem[{n}].productOffering.id", "an amended item names "
                                  "its offering") for n, i in enumerate(items) if i.offering_id is None])
    if items and cmd.order_id and order["customer_id"] is None:
        raise InvalidOrder([Issue("relatedParty", "a party with role 'customer' is required")])
    # an item kept from the order keeps the asset it adds; a new item gets a new one, and so
    # does an item whose id now names another offering (it is another product, not a change)
    kept = {i["id"]: (i.get("asset_id"), i.get("offering_id")) for i in order["items"]}
    items = [replace(i, asset_id=kept[i.id][0])
             if i.id in kept and kept[i.id][0] and kept[i.id][1] == i.offering_id and i.action == "add"
             else i for i in items]
    items = [i if i.asset_id or i.action != "add" else with_asset_ids([i], new_id)[0] for i in items]
    # an item created non-amendable stays so, whatever the amendment says
    locked = {i["id"] for i in order["items"] if i.get("changes_allowed", True) is False}
    items = [replace(i, changes_allowed=False) if i.id in locked else i for i in items]
    number = cmd.revision if cmd.revision is not None else \
        max([order["revision"]] + [q["number"] for q in queued]) + 1
    if number <= order["revision"] or any(q["number"] == number for q in queued):
        raise RevisionIsStale(number, max([order["revision"]] + [q["number"] for q in queued
                                                                 if q["number"] == number]))
    with store.uow() as uow:
        row = {"id": new_id(), "order_id": cmd.order_id, "number": number, "status": "queued",
               "body": cmd.body, "items": [i.as_dict() for i in items], "actor": cmd.actor,
               "force_reason": cmd.force_reason, "created_at": uow.clock.now()}
        uow.changes.add_revision(row)
        uow.events.add("ProductOrderRevisionQueuedEvent", {"order": cmd.order_id, "revision": number,
                                                           "actor": cmd.actor},
                       uow.clock.now(), order_id=cmd.order_id)
        uow.commit()
        return row["id"]


@retrying
def apply_revisions(store: Store, catalog: LoadedCatalog, order_id: str) -> None:
    """Apply the newest queued revision of the order; supersede the older queued ones."""
    with store.uow() as uow:
        order, _ = locks.lock(uow, order_id)
        queued = uow.changes.revisions(order_id, "queued")
        if not queued:
            return
        now = uow.clock.now()
        newest = max(queued, key=lambda r: (r["number"], r["created_at"]))
        for older in queued:
            if older["id"] != newest["id"]:
                uow.changes.decide_revision(older["id"], "superseded", now,
                                            reason=f"superseded by revision {newest['number']}")
        try:
            if newest["number"] <= order["revision"]:
                raise RevisionIsStale(newest["number"], order["revision"])
            if order["state"] not in AMENDABLE_ORDER_STATES:
                raise OrderIsNotAmendable(order["id"], order["state"])
            delta, actions = _revise(uow, catalog, order, newest)
        except ItemIsPastPointOfNoReturn as exc:
            uow.changes.decide_revision(newest["id"], "refused", now, reason=exc.detail,
                                        plan_actions={"kind": exc.kind, "blocking": [
                                            {k: i[k] for k in ("id", "key", "name", "state", "root_item_ids")}
                                            for i in exc.items],
                                            "uncompensated": isinstance(exc, PastPonrWithoutCompensation)})
            _event(uow, order_id, newest["number"], "refused", exc.detail)
        except DomainError as exc:
            uow.changes.decide_revision(newest["id"], "refused", now, reason=exc.detail, plan_actions={
                "kind": exc.kind, "issues": [i.as_dict() for i in exc.issues]})
            _event(uow, order_id, newest["number"], "refused", exc.detail)
        else:
            uow.changes.decide_revision(newest["id"], "applied", now, delta=delta, plan_actions=actions)
            _event(uow, order_id, newest["number"], "applied", None, delta=delta, actions=actions)
        uow.commit()


@retrying
def _refuse_queued(store: Store, order_id: str, revision_id: str, reason: str) -> None:
    """A revision that could not be applied (its transaction kept losing races) is refused,
    unless a concurrent request applied or superseded it meanwhile."""
    with store.uow() as uow:
        locks.lock(uow, order_id)
        row = uow.changes.revision(revision_id)
        if row is not None and row["status"] == "queued":
            uow.changes.decide_revision(revision_id, "refused", uow.clock.now(), reason=reason,
                                        plan_actions={"kind": "concurrent-change", "issues": []})
            _event(uow, order_id, row["number"], "refused", reason)
        uow.commit()


def _event(uow: UnitOfWork, order_id: str, number: int, status: str, reason: str | None, **extra: Any) -> None:
    uow.events.add("ProductOrderRevisionEvent", {"order": order_id, "revision": number, "status": status,
                                                 "reason": reason, **extra},
                   uow.clock.now(), order_id=order_id)


def _revise(uow: UnitOfWork, catalog: LoadedCatalog, order: dict[str, Any], rev: dict[str, Any]):
    now = uow.clock.now()
    cat = catalog.catalog
    old_rev, new_rev = order["revision"], rev["number"]
    new_items = [OrderItem.from_dict(d) for d in rev["items"]]
    # planned against the installed base as before the order: without the assets it created,
    # nor the changes its completed bundles recorded (a revision restores those it withdraws)
    rows = locks.lock_order_items(uow, order["id"])
    recorded = [record for r in sorted((r for r in rows if r["state"] == ItemState.COMPLETED
                                        and r["spec"].recorded), key=lambda r: r["finished_at"])
                for record in r["spec"].recorded]
    installed = (uow.inventory.snapshot(order["customer_id"], excluding_order=order["id"])
                 .before(recorded, order_id=order["id"]) if order["customer_id"] else None)
    lines, plan = plan_items(new_items, cat, order["customer_id"], installed or installed_base(None, None),
                             order["id"])
    apply_learned(plan.items, lines, uow.service_levels.learned())  # as placement plans
    old_lines = uow.orders.lines(order["id"], old_rev)
    delta = line_delta(old_lines, lines, cat)
    touched = touched_roots(order["items"], rev["items"], delta, old_lines, lines)
    current = [r for r in rows if r["revision"] == old_rev]
    check_changes_allowed(order["items"], touched, rev["items"])
    passed = past_point_of_no_return(current, touched)
    if passed and not rev.get("force_reason"):
        raise ItemIsPastPointOfNoReturn(passed, "amend")
    warnings = [{"field": i["id"], "message": f"{i['name']} ({i['state']}) is a soft point of no return "
                 f"of order item(s) {', '.join(i['root_item_ids'])}: its work is changed after it started"}
                for i in passed_soft_ponr(current, touched)]

    # --- which current items the new revision keeps -------------------------------------
    planned = {p.key: p for p in plan.items}
    undoing = [r["id"] for r in rows if r["spec"].compensates
               and r["state"] not in (ItemState.COMPLETED, ItemState.SKIPPED, ItemState.CANCELLED)]
    kept = kept_work(current, planned, set(delta.changed) | set(delta.removed), touched)
    if passed:  # forced: the points of no return whose work is withdrawn must say how to undo it
        withdrawn = {r["id"] for r in kept.stopping}
        passed = [i for i in passed if i["id"] in withdrawn]
        if without_undo(passed):
            raise PastPonrWithoutCompensation(without_undo(passed), "amend")
        uow.events.add("ProductOrderForcedChangeEvent", {
            "order": order["id"], "revision": new_rev, "actor": rev["actor"], "reason": rev["force_reason"],
            "items": sorted(i["id"] for i in passed)}, now, order_id=order["id"])
    carried, stopping, fresh_keys = kept.carried, kept.stopping, kept.fresh

    cause = f"revision {new_rev}"
    done = withdraw(uow, stopping, new_rev, cause, cancelling=False)

    # --- the new revision's plan ------------------------------------------------------
    uow.plan.move_to_revision([r["id"] for r in carried.values()], new_rev, now)
    ids = {key: row["id"] for key, row in carried.items()}
    ids.update({key: new_id() for key in fresh_keys})
    states = {key: row["state"] for key, row in carried.items()}
    offline = uow.orchestration.offline_systems()
    compensations = list(done["compensations"]) + undoing  # new work waits for every undoing
    new_items, edges = [], []
    for pos, key in enumerate(k for k in (p.key for p in plan.items)):
        p = planned[key]
        deps = [ids[d] for d in p.depends_on]
        if key in fresh_keys:
            deps += compensations  # new work waits for the undoing of the old
        edges += [{"item_id": ids[key], "depends_on_id": d} for d in deps]
        if key in carried:
            continue
        open_deps = [d for d, dk in zip(deps, p.depends_on + [None] * len(compensations))
                     if states.get(dk) not in DONE_ITEM_STATES]
        new_items.append(NewPlanItem.start(p, id=ids[key], revision=new_rev, position=pos,
                                           open_dependencies=len(open_deps), offline_systems=offline,
                                           not_before=order["requested_start_date"]))
    uow.plan.replace_edges([r["id"] for r in carried.values()],
                           [e for e in edges if e["item_id"] in {r["id"] for r in carried.values()}])
    uow.plan.insert_new(order["id"], new_items, [e for e in edges if e["item_id"] not in
                                                {r["id"] for r in carried.values()}], now)
    for key, row in carried.items():  # a kept item waiting on dependencies recounts them
        if row["state"] == ItemState.PENDING:
            open_deps = [d for d in planned[key].depends_on if states.get(d) not in DONE_ITEM_STATES]
            uow.plan.set_pending_deps(row["id"], len(open_deps), planned[key].depends_on)
            if not open_deps:
                transition_item(uow, row | {"revision": new_rev}, ItemState.READY, f"{cause}: dependencies done")

    # --- the order itself --------------------------------------------------------------
    old_attrs = {r["line_id"]: r["attributes"] for r in old_lines}
    for line in lines:  # unchanged lines keep what fulfilment wrote into them (e.g. msisdn)
        if line.id in delta.unchanged:
            line.attributes = dict(old_attrs.get(line.id, {})) | dict(line.attributes)
    uow.orders.add_lines(order["id"], new_rev, lines)
    kept_items = {i["id"] for i in rev["items"]}
    for item in order["items"]:  # an item the revision drops no longer gives the customer its asset
        if item["id"] not in kept_items and item.get("asset_id") and item["action"] == "add":
            asset = uow.inventory.asset(item["asset_id"])
            if asset is not None and asset["order_id"] == order["id"] and asset["status"] != "terminated":
                uow.inventory.update_asset(asset["id"], now, status="terminated", terminated_at=now)
    body = dict(order["body"]) | {k: v for k, v in rev["body"].items() if k != "revision"}
    uow.orders.update(order["id"], revision=new_rev, items=rev["items"], body=body, updated_at=now)
    uow.plan.released()
    order_state.settle_order(uow, order["id"])
    actions = {"kept": sorted(r["key"] for r in carried.values()),
               "new": sorted(fresh_keys), "cancelled": done["cancelled"],
               "left_running": done["running"], "kept_done": done["kept"],
               "compensations": done["compensations"], "restored": done["restored"],
               "warnings": warnings, "forced": sorted(i["id"] for i in passed)}
    return delta.as_dict() | {"touched_roots": sorted(touched)}, actions
