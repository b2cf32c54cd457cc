"""The claim order of plan items (domain/priority.py): priority first at equal readiness,
waiting ages an item up one level per aging interval. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ordertower.domain.priority import DEFAULT_PRIORITY, claim_rank, is_priority, order_priority

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
AGING = 300.0


@pytest.mark.parametrize("body, expected", [
    ({"priority": "0"}, 0), ({"priority": "4"}, 4), ({"priority": 1}, 1), ({}, DEFAULT_PRIORITY),
    (None, DEFAULT_PRIORITY), ({"priority": None}, DEFAULT_PRIORITY)])
def test_the_priority_an_order_asks_for(body, expected):
    assert order_priority(body) == expected


@pytest.mark.parametrize("value", ["5", "-1", "01", "high", 5, -1, True, 1.0, [], ""])
def test_anything_but_zero_to_four_is_no_priority(value):
    assert not is_priority(value)


def test_at_equal_readiness_the_higher_priority_is_claimed_first():
    assert claim_rank(T0, 0, AGING) < claim_rank(T0, 1, AGING) < claim_rank(T0, 4, AGING)


def test_each_aging_interval_waited_counts_as_one_level():
    old_low = claim_rank(T0, 4, AGING)
    assert claim_rank(T0 + timedelta(seconds=4 * AGING - 1), 0, AGING) < old_low  # not yet
    assert claim_rank(T0 + timedelta(seconds=4 * AGING + 1), 0, AGING) > old_low  # aged past it
    assert claim_rank(T0 + timedelta(seconds=AGING + 1), 3, AGING) > claim_rank(T0, 4, AGING)
