"""Circuit breakers of fulfillment systems, executed (the rules: domain/breaker.py).

The breaker's state is the system's state row (``system_states.breaker_*``), shared by every
worker process. While it is open or half-open, the system counts among the offline systems
(``offline_systems``), so the machinery of an operator's offline holds its items: the claim
skips them, items released later start ``onHold``, and ``holds.sweep_holds`` holds those that
were ready and frees them all when the breaker closes (engine/holds.py).

Two hooks call in here, each a small marked block:

- ``recording.record`` calls ``after_attempt`` for every attempt it records, inside its
  transaction (order and item locked; the system's row is locked after them, as
  engine/locks.py orders). A transport failure counts; the attempt that trips the breaker,
  and any transport failure while it is open, hold the item instead, the attempt not charged
  against its retry policy (``attempt_offset``; the attempt itself is recorded). An answer
  resets the count and closes an open breaker.
- ``Worker.run_once`` runs ``Probes.run`` in its housekeeping: when a breaker has been open
  for ``probe_after``, one worker (compare-and-set on the row) sends the probe: a GET of the
  system's health path (in a task of its own, the result written by ``end_probe``), or, without
  one, the first held item leased to itself as the trial (``start_trial``), whose recorded
  outcome decides (``after_attempt``).

Every change of a breaker is a ``SystemStateChangeEvent`` (with ``breaker``) and a log line.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import structlog

from ..domain import breaker as rules
from ..domain.breaker import Breaker, BreakerState, Verdict
from ..domain.catalog import BreakerPolicy
from ..domain.lifecycle import ItemState, OrderState
from .conflicts import retrying
from .items import is_withdrawn
from .locks import lock_if_free
from .outcomes import Outcome
from .ports import CalloutFailure, Store, UnitOfWork
from .transitions import transition_item, transition_order

log = structlog.get_logger("ordertower.breaker")

_LEASE_FREE = {"lease_owner": None, "lease_until": None}
# a probe out longer than this (beyond the system's time-out and a worker's lease) is given up
PROBE_MARGIN = timedelta(seconds=5)
ACTOR = "engine"


def status(row: dict[str, Any] | None) -> Breaker:
    """The breaker of a system's state row (closed when it has none)."""
    if row is None:
        return Breaker()
    return Breaker(state=BreakerState(row.get("breaker_state") or BreakerState.CLOSED),
                   failures=row.get("breaker_failures") or 0, opened_at=row.get("breaker_opened_at"),
                   probe_until=row.get("breaker_probe_until"),
                   trial_item=row.get("breaker_trial_item"))


def _columns(b: Breaker) -> dict[str, Any]:
    return {"breaker_state": b.state.value, "breaker_failures": b.failures,
            "breaker_opened_at": b.opened_at, "breaker_probe_until": b.probe_until,
            "breaker_trial_item": b.trial_item}


def _apply(uow: UnitOfWork, system: str, row: dict[str, Any], verdict: Verdict, reason: str) -> None:
    """Write the breaker's new state (if it changed) and announce a change of state."""
    now = uow.clock.now()
    if verdict.breaker == status(row):
        return
    values = _columns(verdict.breaker)
    if verdict.changed:
        values["breaker_changed_at"] = now
    uow.orchestration.save_breaker(system, values)
    if not verdict.changed:
        return
    before, after = verdict.change  # type: ignore[misc]
    announce(uow, system, before, after, verdict.breaker.failures, reason, manual_offline=bool(row.get("offline")))
    if after is BreakerState.CLOSED:
        uow.plan.released()  # wake the workers: their sweep_holds frees the held items


def announce(uow: UnitOfWork, system: str, before: str, after: str, failures: int, reason: str, *,
             manual_offline: bool, actor: str = ACTOR) -> None:
    """A breaker changed state: an event and a log line."""
    now = uow.clock.now()
    uow.events.add("SystemStateChangeEvent", {
        "system": system, "breaker": str(after), "from": str(before), "failures": failures,
        "offline": manual_offline or after != BreakerState.CLOSED, "actor": actor, "reason": reason}, now)
    level = log.warning if after == BreakerState.OPEN else log.info
    level("circuit breaker changed", system=system, from_state=str(before), to_state=str(after),
          failures=failures, reason=reason)


# --- the recording hook ------------------------------------------------------------------

def is_down(outcome: Outcome) -> bool:
    return rules.is_transport_failure(failed=not outcome.ok, connection_error=outcome.transport_error,
                                      timed_out=outcome.timed_out, status_code=outcome.status_code)


def after_attempt(uow: UnitOfWork, row: dict[str, Any], order: dict[str, Any], outcome: Outcome) -> str | None:
    """Apply a recorded attempt to its system's breaker (the attempt row is written; the order
    and item are locked). Returns ``onHold`` when the breaker took the item (held, attempt not
    charged: the caller commits and is done), else None (the caller records the outcome)."""
    policy: BreakerPolicy | None = outcome.breaker
    system = row.get("system")
    if policy is None or not policy.enabled or not system:
        return None
    down = is_down(outcome)
    now = uow.clock.now()
    if down:
        uow.orchestration.ensure_system_row(system, now)
    else:  # the usual case: an answer while all is well writes nothing and locks nothing
        seen = uow.orchestration.breaker(system)
        if not status(seen).holds and status(seen).failures == 0:
            return None
    current = uow.orchestration.breaker(system, for_update=True)
    assert current is not None
    verdict = rules.after_attempt(status(current), policy, down=down, item_id=row["id"], now=now)
    if down:
        reason = (f"{verdict.breaker.failures} consecutive transport failures; last: {outcome.error}"
                  if verdict.change else f"transport failure: {outcome.error}")
    else:
        reason = f"{system} answered again ({outcome.status_code or outcome.attempt_outcome})"
    _apply(uow, system, current, verdict, reason)
    if not verdict.hold or is_withdrawn(row, order):  # withdrawn work is not held: recorded as usual
        return None
    cause = f"circuit breaker of {system} is {verdict.breaker.state}"
    spec = row["spec"]
    uow.plan.set_spec(row["id"], spec.evolve(attempt_offset=spec.attempt_offset + 1))
    ready = transition_item(uow, row, ItemState.READY,
                            f"attempt {row['attempts']} not charged: {outcome.error}; {cause}",
                            not_before=None, deadline_at=None, last_error=outcome.error, **_LEASE_FREE)
    transition_item(uow, ready, ItemState.ON_HOLD, cause)
    return ItemState.ON_HOLD


# --- probes ------------------------------------------------------------------------------

@retrying
def due_for_probe(store: Store, policies: dict[str, BreakerPolicy]) -> list[str]:
    """Systems whose breaker wants a probe now (read only). Breakers the catalog turned off
    are closed on the way."""
    with store.read() as uow:
        now = uow.clock.now()
        rows = uow.orchestration.breakers_to_watch()
    due, disabled = [], []
    for row in rows:
        policy = policies.get(row["system"])
        if policy is None:
            continue
        if not policy.enabled:
            disabled.append(row["system"])
        elif rules.probe_due(status(row), policy, now, manual_offline=bool(row["offline"])):
            due.append(row["system"])
    for system in disabled:
        _close_disabled(store, system)
    return due


@retrying
def _close_disabled(store: Store, system: str) -> None:
    with store.uow() as uow:
        row = uow.orchestration.breaker(system, for_update=True, skip_locked=True)
        if row is None:
            return
        _apply(uow, system, row, rules.disabled(status(row)), "the catalog turned the breaker off")
        uow.commit()


@retrying
def start_probe(store: Store, system: str, policy: BreakerPolicy, give_up_after: timedelta) -> bool:
    """Take the probe of a system (half-open), if it is still due: only one worker does."""
    with store.uow() as uow:
        now = uow.clock.now()
        row = uow.orchestration.breaker(system, for_update=True, skip_locked=True)
        if row is None or not rules.probe_due(status(row), policy, now, manual_offline=bool(row["offline"])):
            return False
        _apply(uow, system, row, rules.start_probe(status(row), now, give_up_after),
               f"probing {system} after {policy.probe_after.total_seconds():g}s open")
        uow.commit()
        return True


@retrying
def end_probe(store: Store, system: str, answered: bool, detail: str) -> str:
    """The health probe reported: closed if the system answered, open again otherwise."""
    with store.uow() as uow:
        row = uow.orchestration.breaker(system, for_update=True)  # the last lock: waiting is safe
        if row is None:
            return BreakerState.CLOSED
        verdict = rules.after_probe(status(row), answered=answered, now=uow.clock.now())
        _apply(uow, system, row, verdict, f"health probe: {detail}")
        uow.commit()
        return verdict.breaker.state


@retrying
def start_trial(store: Store, system: str, policy: BreakerPolicy, give_up_after: timedelta,
                worker: str, lease: timedelta) -> dict[str, Any] | None:
    """Without a health path, the probe is the first held item of the system (that nobody
    holds), leased to ``worker`` like a claim (attempts + 1). Returns it to run, or None."""
    with store.uow() as uow:
        now = uow.clock.now()
        if not rules.probe_due(status(seen := uow.orchestration.breaker(system)), policy, now,
                               manual_offline=bool(seen and seen["offline"])):
            return None
        for candidate in uow.plan.of_system(system, [ItemState.ON_HOLD])[:20]:
            held = lock_if_free(uow, candidate["order_id"], [candidate["id"]])  # order, item
            if held is None or candidate["id"] not in held[1]:
                continue
            order, item = held[0], held[1][candidate["id"]]
            if item["state"] != ItemState.ON_HOLD:
                continue
            row = uow.orchestration.breaker(system, for_update=True, skip_locked=True)  # then the system
            if row is None or not rules.probe_due(status(row), policy, now,
                                                  manual_offline=bool(row["offline"])):
                return None
            _apply(uow, system, row, rules.start_probe(status(row), now, give_up_after, item["id"]),
                   f"trial of {system} with {item['key']} after {policy.probe_after.total_seconds():g}s open")
            ready = transition_item(uow, item, ItemState.READY, f"trial of the circuit breaker of {system}")
            transition_item(uow, ready, ItemState.RUNNING, f"claimed by {worker} (breaker trial)",
                            lease_owner=worker, lease_until=now + lease, attempts=item["attempts"] + 1,
                            not_before=None, started_at=item.get("started_at") or now)
            if order["state"] == OrderState.ACKNOWLEDGED and item["step_id"] != "plan-order":
                transition_order(uow, order, OrderState.IN_PROGRESS, "fulfillment started")
            trial = uow.plan.get(item["id"])
            uow.commit()
            return trial
        return None


class Probes:
    """A worker's side of the probes: run in its housekeeping (``Worker.run_once``)."""

    def __init__(self, store: Store, executors: Any):
        self.store = store
        self.executors = executors
        self._tasks: set[asyncio.Task] = set()

    async def run(self, worker: str, lease: timedelta) -> list[dict[str, Any]]:
        """Send the probes due: health probes in tasks of their own; trial items are returned,
        leased to ``worker``, for it to run."""
        catalog = self.executors.catalog()
        policies = {s.id: s.breaker for s in catalog.systems}
        due = await asyncio.to_thread(due_for_probe, self.store, policies)
        trials = []
        for system_id in due:
            system = catalog.system_by_id[system_id]
            give_up = system.timeout + lease + PROBE_MARGIN
            if system.health_path:
                if await asyncio.to_thread(start_probe, self.store, system_id, system.breaker, give_up):
                    task = asyncio.create_task(self._probe(system_id, system.health_path,
                                                           system.timeout.total_seconds()))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                continue
            trial = await asyncio.to_thread(start_trial, self.store, system_id, system.breaker,
                                            give_up, worker, lease)
            if trial is not None:
                trials.append(trial)
        return trials

    async def _probe(self, system: str, path: str, timeout: float) -> None:
        url = self.executors.system_url(system, path)
        reply = await self.executors.callouts.send("GET", url, json=None, headers={}, timeout=timeout)
        if isinstance(reply, CalloutFailure):
            answered, detail = False, f"{reply.kind}: {reply.detail}"
        else:
            answered, detail = 200 <= reply.status_code < 300, f"GET {path} answered {reply.status_code}"
        try:
            await asyncio.to_thread(end_probe, self.store, system, answered, detail)
        except Exception:  # given up at probe_until; the next probe decides
            log.exception("probe result not recorded", system=system)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
