"""The engine's hot paths work in sets: the SQL statements a worker runs to claim items, record
their outcomes, release their successors and settle their orders do not grow with the number
of items it handles at once (issue 11). Measured with a statement counter on the database
engine (every statement the driver is given, executemany counted once), on workload W
(benchmarks/catalogs/workload-w: six milestones and the asset recording per order), for 4
orders and then for 40, round by round as a worker would run them: claim everything due,
run it, record every outcome in one transaction (the milestones that frees are reached in
that transaction, level by level: engine/completions.py). On SQLite and PostgreSQL.

If one of these tests fails, a change made a hot path do something per item (or per order)
again: a statement in a loop. That is what made the engine 3 to 10 times slower than its
peers; find the loop, do it for the whole set."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable, Iterator
from unittest import mock

import pytest
from sqlalchemy import event

from ordertower.engine import completions, item_context, leases, recording
from ordertower.engine.outcomes import Outcome

from ..support.engine import EngineHarness
from ..support.workload_w import W_CATALOG, w_order

LEASE = timedelta(seconds=60)
WORKER = "counting-worker"
# W's rounds: A and B claimed, C, D, E and F reached as their completion frees them; then the
# asset recording (which completes the order)
ROUNDS = [("a", "b"), ("assetize",)]


class StatementCounter:
    """Counts the statements sent to the database, by the hot path running them."""

    def __init__(self, engine):
        self.engine = engine
        self.counts: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()  # of the functions wrapped, by phase
        self._phases = ["other"]

    def __enter__(self) -> "StatementCounter":
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.counts[self._phases[-1]] += 1

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._phases.append(name)
        try:
            yield
        finally:
            self._phases.pop()

    def wrap(self, name: str, fn: Callable) -> Callable:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            with self.phase(name):
                return fn(*args, **kwargs)
        return counted


def run_rounds(h: EngineHarness, orders: int, tag: str) -> list[dict[str, Any]]:
    """Place ``orders`` W orders, then run them round by round; for each round, the items it
    ran and the statements of each hot path."""
    store = h.container.store
    ids = [h.place(w_order(f"{tag}-{i}")) for i in range(orders)]
    rounds = []
    counter = StatementCounter(store.engine)
    with counter, \
            mock.patch.object(completions, "release_successors",
                              counter.wrap("release successors", completions.release_successors)), \
            mock.patch.object(completions, "reach_milestones",
                              counter.wrap("reach milestones", completions.reach_milestones)), \
            mock.patch.object(recording, "settle_orders",
                              counter.wrap("settle orders", recording.settle_orders)):
        for _ in ROUNDS:
            counter.counts.clear()
            counter.calls.clear()
            with counter.phase("claim"):
                claimed = leases.claim(store, WORKER, 10_000, LEASE)
            contexts = item_context.load_contexts(store, [r for r in claimed if r["type"] != "milestone"])
            done = [(row, h.run(h.worker.executors.run(row, *contexts.get(row["id"], ({}, None, []))))) 
                    for row in claimed]
            with counter.phase("record outcomes"):
                states = recording.record_many(store, WORKER, done)
            assert states == ["completed"] * len(claimed)
            rounds.append({"steps": sorted({r["step_id"] for r in claimed}), "items": len(claimed),
                           "levels": counter.calls["release successors"], **counter.counts})
    assert {h.order(i)["state"] for i in ids} == {"completed"}
    return rounds


@pytest.fixture
def w_engine(database_url):
    harness = EngineHarness(database_url, catalog=W_CATALOG)
    yield harness
    harness.close()


def test_claiming_recording_releasing_and_settling_cost_the_same_statements_for_4_or_40_orders(w_engine):
    few = run_rounds(w_engine, 4, "few")
    many = run_rounds(w_engine, 40, "many")

    for small, large in zip(few, many):
        assert small["steps"] == large["steps"]
        assert large["items"] == 10 * small["items"]
        assert large["levels"] == small["levels"]
        # set-based: the same statements for ten times the items
        for path in ("claim", "record outcomes", "release successors", "reach milestones",
                     "settle orders"):
            assert large.get(path, 0) == small.get(path, 0), (path, small, large)


def test_a_round_of_w_costs_a_fixed_number_of_statements_per_hot_path(w_engine):
    """The budgets: what a set of W's items costs today. Raising one needs a reason."""
    rounds = run_rounds(w_engine, 10, "budget")
    # C, D, E and F reached in the first round's transaction, one level each; then the asset
    # recording frees nothing
    assert [r["levels"] for r in rounds] == [5, 1]
    for r in rounds:
        # begin, offline systems, the due items picked, leased, read back, their events; the
        # acknowledged orders locked and moved to inProgress, with their events (first round)
        assert r["claim"] <= 9, r
        # locks of the orders and items, attempts, breakers to watch, completion, its events
        if r["steps"] != ["assetize"]:
            assert r["record outcomes"] <= 8, r
        else:  # and the installed base: assets and items read, items and assets written
            # (a savepoint around the item inserts), their events, the items' journals
            assert r["record outcomes"] <= 16, r
        # each level (the set's completions, then each level of milestones they free): edges,
        # counters, freed items read and made ready, offline systems, events, notify
        assert r.get("release successors", 0) <= 7 * r["levels"], r
        # each level of milestones: their rows read, attempts, completion, events
        assert r.get("reach milestones", 0) <= 4 * (r["levels"] - 1), r
        # the orders locked, their figures in one grouped query; when they complete, one
        # UPDATE and one INSERT of events for all
        assert r.get("settle orders", 0) <= 4, r
