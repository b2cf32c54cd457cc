"""Life cycles refuse illegal transitions; retry back-off follows each policy."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from ordertower.domain.catalog import RetryPolicy
from ordertower.domain.errors import IllegalTransition
from ordertower.domain.lifecycle import (ITEM_TRANSITIONS, ORDER_TRANSITIONS, ItemState, OrderState,
                                         check_item_transition, check_order_transition)
from ordertower.domain.retry import attempts_left, next_delay

LEGAL_ITEM = [(a, b) for a, nxt in ITEM_TRANSITIONS.items() for b in sorted(nxt)]
ILLEGAL_ITEM = [(a, b) for a in ItemState for b in ItemState if b not in ITEM_TRANSITIONS[a]]


@pytest.mark.parametrize("current, target", LEGAL_ITEM, ids=[f"{a}->{b}" for a, b in LEGAL_ITEM])
def test_legal_item_transitions_are_allowed(current, target):
    assert check_item_transition("i1", current, target) == target


@pytest.mark.parametrize("current, target", ILLEGAL_ITEM, ids=[f"{a}->{b}" for a, b in ILLEGAL_ITEM])
def test_illegal_item_transitions_are_refused_with_a_clear_error(current, target):
    with pytest.raises(IllegalTransition) as refused:
        check_item_transition("i1", current, target)
    assert str(refused.value).startswith(f"plan item i1 cannot go from '{current}' to '{target}'")


def test_the_seed_paths_of_the_item_life_cycle_are_legal():
    for path in (["pending", "ready", "running", "completed"],
                 ["ready", "running", "retrying", "running", "fallout", "ready"],
                 ["ready", "onHold", "ready"], ["running", "waiting", "completed", "compensating",
                                                "compensated"], ["running", "ready"]):
        for a, b in zip(path, path[1:]):
            check_item_transition("i", a, b)


def test_final_order_states_allow_no_transition():
    for state in (OrderState.COMPLETED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.FAILED):
        assert ORDER_TRANSITIONS[state] == frozenset()
        with pytest.raises(IllegalTransition):
            check_order_transition("o", state, OrderState.IN_PROGRESS)


def test_an_order_goes_acknowledged_in_progress_completed_or_held():
    check_order_transition("o", "acknowledged", "inProgress")
    check_order_transition("o", "inProgress", "held")
    check_order_transition("o", "held", "inProgress")
    check_order_transition("o", "inProgress", "completed")
    with pytest.raises(IllegalTransition):
        check_order_transition("o", "completed", "held")


@pytest.mark.parametrize("policy, delays", [
    (RetryPolicy(strategy="fixed", interval="10s", max_attempts=4), [10, 10, 10]),
    (RetryPolicy(strategy="staggered", intervals=["10s", "1h", "1d"], max_attempts=5), [10, 3600, 86400, 86400]),
    (RetryPolicy(strategy="exponential", initial="1s", factor=2, cap="5s", jitter=0, max_attempts=6),
     [1, 2, 4, 5, 5]),
], ids=["fixed", "staggered", "exponential-capped"])
def test_back_off_follows_the_policy(policy, delays):
    assert [next_delay(policy, n).total_seconds() for n in range(1, len(delays) + 1)] == delays


def test_exponential_jitter_spreads_within_its_bound():
    policy = RetryPolicy(strategy="exponential", initial="10s", factor=1, jitter=0.2)
    rng = random.Random(7)
    seen = [next_delay(policy, 1, rng).total_seconds() for _ in range(200)]
    assert min(seen) >= 8 and max(seen) <= 12 and len(set(seen)) > 100


def test_retry_after_is_honoured_when_longer():
    policy = RetryPolicy(strategy="fixed", interval="1s")
    assert next_delay(policy, 1, retry_after=30) == timedelta(seconds=30)
    assert next_delay(policy, 1, retry_after=0.5) == timedelta(seconds=1)


def test_attempts_are_bounded_by_the_policy():
    policy = RetryPolicy(strategy="fixed", interval="1s", max_attempts=3)
    assert [attempts_left(policy, n) for n in (1, 2, 3)] == [True, True, False]
    assert attempts_left(RetryPolicy(strategy="none"), 1) is False
    assert attempts_left(None, 1) is False
