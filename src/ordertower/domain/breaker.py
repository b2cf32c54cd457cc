"""The circuit breaker of a fulfillment system: its rules, without I/O.

- **closed**: callouts flow; consecutive *transport failures* are counted (a connection
  refused or dropped, a time-out, a 502, 503 or 504). Any answer of the system (a success, a
  4xx, a business 500, a 429) resets the count: the system is there.
- **open**: reached at ``failures`` consecutive transport failures. The system is treated as
  offline: its items are held (``onHold``), nothing is sent, no attempt is spent. The attempt
  that trips the breaker is not charged either, nor is any transport failure recorded while
  the breaker is open (calls that were in flight when it opened).
- **half-open**: ``probe_after`` after it opened, one probe goes out: a GET of the system's
  health path if the catalog declares one, else the next held item as the trial. An answer
  closes the breaker (held items run again); a transport failure opens it again for another
  ``probe_after``. A probe that never reports (its worker died) is given up at
  ``probe_until`` and a new one starts.

An operator's offline always wins: no probe goes to a system marked offline, and a closed
breaker does not release the items of a system an operator holds (services/systems.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from .catalog import BreakerPolicy


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


# what a system that is down (or whose gateway cannot reach it) answers
DOWN_STATUS = frozenset({502, 503, 504})


def is_transport_failure(*, failed: bool, connection_error: bool = False, timed_out: bool = False,
                         status_code: int | None = None) -> bool:
    """Whether an attempt's outcome says the system could not be reached: a failure by
    connection error, time-out, or a 502/503/504. Not a 4xx, not a 500 (a business error: the
    system answered), not a 429 (it answered: slow down), not a success."""
    if not failed:
        return False
    return connection_error or timed_out or status_code in DOWN_STATUS


@dataclass(frozen=True)
class Breaker:
    """A system's breaker as stored (the system's state row)."""
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # consecutive transport failures
    opened_at: datetime | None = None
    probe_until: datetime | None = None  # half-open: the probe out is given up after this
    trial_item: str | None = None  # half-open without a health path: the item sent as trial

    @property
    def holds(self) -> bool:
        """Whether the system's items are held (open, or half-open with a probe out)."""
        return self.state is not BreakerState.CLOSED


@dataclass(frozen=True)
class Verdict:
    breaker: Breaker  # the breaker after the event
    hold: bool = False  # the item goes onHold and its attempt is not charged
    change: tuple[BreakerState, BreakerState] | None = None  # (from, to) when it changed

    @property
    def changed(self) -> bool:
        return self.change is not None


def after_attempt(b: Breaker, policy: BreakerPolicy, *, down: bool, item_id: str,
                  now: datetime) -> Verdict:
    """An attempt of one of the system's items ended: ``down`` when it was a transport
    failure (``is_transport_failure``)."""
    if not down:
        if b.state is BreakerState.CLOSED:
            return Verdict(b if b.failures == 0 else Breaker())
        return Verdict(Breaker(), change=(b.state, BreakerState.CLOSED))
    failures = b.failures + 1
    if b.state is BreakerState.CLOSED:
        if failures >= policy.failures:  # this attempt trips it: held, not charged
            return Verdict(Breaker(BreakerState.OPEN, failures, now), hold=True,
                           change=(BreakerState.CLOSED, BreakerState.OPEN))
        return Verdict(replace(b, failures=failures))
    if b.state is BreakerState.HALF_OPEN and b.trial_item == item_id:  # the trial failed
        return Verdict(Breaker(BreakerState.OPEN, failures, now), hold=True,
                       change=(BreakerState.HALF_OPEN, BreakerState.OPEN))
    # open (a call that was in flight when it opened), or half-open and not the trial
    return Verdict(replace(b, failures=failures), hold=True)


def probe_due(b: Breaker, policy: BreakerPolicy, now: datetime, *, manual_offline: bool) -> bool:
    """Whether a probe should go out now: the breaker has been open for ``probe_after``, or
    the probe out was given up. Never while an operator holds the system."""
    if manual_offline or not policy.enabled:
        return False
    if b.state is BreakerState.OPEN:
        return b.opened_at is None or now >= b.opened_at + policy.probe_after
    if b.state is BreakerState.HALF_OPEN:
        return b.probe_until is None or now >= b.probe_until
    return False


def start_probe(b: Breaker, now: datetime, give_up_after: timedelta,
                trial_item: str | None = None) -> Verdict:
    """A probe goes out: half-open until it reports, or until ``give_up_after`` from now."""
    new = replace(b, state=BreakerState.HALF_OPEN, probe_until=now + give_up_after,
                  trial_item=trial_item)
    change = None if b.state is BreakerState.HALF_OPEN else (b.state, BreakerState.HALF_OPEN)
    return Verdict(new, change=change)


def after_probe(b: Breaker, *, answered: bool, now: datetime) -> Verdict:
    """The health probe reported: the system answered (2xx), or not."""
    if b.state is not BreakerState.HALF_OPEN:  # decided meanwhile (an operator, an item)
        return Verdict(b)
    if answered:
        return Verdict(Breaker(), change=(BreakerState.HALF_OPEN, BreakerState.CLOSED))
    return Verdict(Breaker(BreakerState.OPEN, b.failures + 1, now),
                   change=(BreakerState.HALF_OPEN, BreakerState.OPEN))


def disabled(b: Breaker) -> Verdict:
    """The catalog turned the breaker off: a breaker left open closes."""
    if b.state is BreakerState.CLOSED and b.failures == 0:
        return Verdict(b)
    return Verdict(Breaker(), change=None if b.state is BreakerState.CLOSED
                   else (b.state, BreakerState.CLOSED))
