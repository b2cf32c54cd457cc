"""A worker records outcomes in sets (engine/worker.GroupCommit): as large as what arrived
while nobody else waits to write, cut to a time budget while the API does (SQLite: an order
placed waits for the worker's transaction in progress)."""

from __future__ import annotations

import asyncio
import time

from ordertower.engine.outcomes import Outcome
from ordertower.engine.worker import GroupCommit

PER_OUTCOME_S = 0.002  # what the fake write takes for each outcome (at least)


def _record_all(n: int, *, busy: bool) -> list[int]:
    """Record one outcome, then ``n`` that all arrive at once; the sizes of the sets written."""
    sizes: list[int] = []

    def write(batch):
        sizes.append(len(batch))
        time.sleep(PER_OUTCOME_S * len(batch))
        return ["completed"] * len(batch)

    commit = GroupCommit(write, budget_s=0.010, busy=lambda: busy)

    async def main() -> list[str | None]:
        await commit.record({"id": "first"}, Outcome.done(output={}))
        return await asyncio.gather(*(commit.record({"id": str(i)}, Outcome.done(output={}))
                                      for i in range(n)))

    states = asyncio.run(main())
    assert states == ["completed"] * n  # every outcome recorded, whatever the sets
    return sizes


def test_outcomes_that_arrive_together_are_written_in_one_set_when_nobody_waits_to_write():
    sizes = _record_all(300, busy=False)
    assert sizes == [1, 300]  # the first alone, at once; then all that arrived together


def test_while_the_api_waits_to_write_the_sets_are_cut_to_the_budget():
    sizes = _record_all(300, busy=True)
    assert sizes[0] == 1 and sum(sizes) == 301
    # the first set has told the time an outcome takes (2 ms or more): a set is then what
    # fits in 10 ms, but never fewer than MIN_SET
    assert set(sizes[1:-1]) == {GroupCommit.MIN_SET} and sizes[-1] <= GroupCommit.MIN_SET, sizes
