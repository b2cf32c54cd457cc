"""Life cycles of orders and plan items (DESIGN.md "Life cycles").

A transition is legal only if listed here; anything else raises IllegalTransition.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import IllegalTransition


class OrderState(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    IN_PROGRESS = "inProgress"
    HELD = "held"
    COMPLETED = "completed"
    FAILED = "failed"
    PARTIAL = "partial"
    ASSESSING_CANCELLATION = "assessingCancellation"
    PENDING_CANCELLATION = "pendingCancellation"
    CANCELLED = "cancelled"


class ItemState(StrEnum):
    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    WAITING = "waiting"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FALLOUT = "fallout"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    ON_HOLD = "onHold"


_O = OrderState
ORDER_TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    _O.ACKNOWLEDGED: frozenset({_O.IN_PROGRESS, _O.REJECTED, _O.COMPLETED, _O.HELD,
                                _O.ASSESSING_CANCELLATION}),
    _O.IN_PROGRESS: frozenset({_O.COMPLETED, _O.HELD, _O.FAILED, _O.PARTIAL,
                               _O.ASSESSING_CANCELLATION}),
    _O.HELD: frozenset({_O.IN_PROGRESS, _O.FAILED, _O.PARTIAL, _O.COMPLETED,
                        _O.ASSESSING_CANCELLATION}),
    _O.ASSESSING_CANCELLATION: frozenset({_O.PENDING_CANCELLATION, _O.IN_PROGRESS, _O.HELD,
                                          _O.ACKNOWLEDGED}),
    _O.PENDING_CANCELLATION: frozenset({_O.CANCELLED, _O.HELD}),
    _O.REJECTED: frozenset(),
    _O.COMPLETED: frozenset(),
    _O.FAILED: frozenset(),
    _O.PARTIAL: frozenset(),
    _O.CANCELLED: frozenset(),
}
FINAL_ORDER_STATES = frozenset(s for s, nxt in ORDER_TRANSITIONS.items() if not nxt)

_I = ItemState
ITEM_TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    _I.PENDING: frozenset({_I.READY, _I.SKIPPED, _I.CANCELLED}),
    _I.READY: frozenset({_I.RUNNING, _I.ON_HOLD, _I.SKIPPED, _I.CANCELLED}),
    # running -> ready: the worker's lease expired; another worker takes the item over.
    _I.RUNNING: frozenset({_I.COMPLETED, _I.WAITING, _I.RETRYING, _I.FALLOUT, _I.READY}),
    # waiting -> cancelled: a cancellation withdraws a task, a wait or an unanswered request
    _I.WAITING: frozenset({_I.COMPLETED, _I.RETRYING, _I.FALLOUT, _I.CANCELLED}),
    _I.RETRYING: frozenset({_I.RUNNING, _I.ON_HOLD, _I.CANCELLED}),
    _I.ON_HOLD: frozenset({_I.READY, _I.CANCELLED}),
    # an operator resolves fallout: retry (ready), complete by hand, skip, or cancel the order.
    _I.FALLOUT: frozenset({_I.READY, _I.COMPLETED, _I.SKIPPED, _I.CANCELLED}),
    _I.COMPLETED: frozenset({_I.COMPENSATING}),
    _I.COMPENSATING: frozenset({_I.COMPENSATED, _I.FALLOUT}),
    _I.SKIPPED: frozenset(),
    _I.CANCELLED: frozenset(),
    _I.COMPENSATED: frozenset(),
}
# States in which an item no longer blocks its successors.
DONE_ITEM_STATES = frozenset({_I.COMPLETED, _I.SKIPPED})
FINAL_ITEM_STATES = frozenset({_I.COMPLETED, _I.SKIPPED, _I.CANCELLED, _I.COMPENSATED})
# An item has "started" (and so has reached its point of no return, if flagged) in these.
STARTED_ITEM_STATES = frozenset({_I.RUNNING, _I.WAITING, _I.RETRYING, _I.COMPLETED, _I.FALLOUT,
                                 _I.COMPENSATING, _I.COMPENSATED})


def check_order_transition(order_id: str, current: str, target: str) -> OrderState:
    cur, tgt = OrderState(current), OrderState(target)
    if tgt not in ORDER_TRANSITIONS[cur]:
        raise IllegalTransition(f"order {order_id}", cur.value, tgt.value)
    return tgt


def check_item_transition(item_id: str, current: str, target: str) -> ItemState:
    cur, tgt = ItemState(current), ItemState(target)
    if tgt not in ITEM_TRANSITIONS[cur]:
        raise IllegalTransition(f"plan item {item_id}", cur.value, tgt.value)
    return tgt
