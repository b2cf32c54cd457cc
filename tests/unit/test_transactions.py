"""Compare-and-set order transitions and the retry of a use case whose transaction lost a
race, on fakes: no database."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import psycopg.errors
import pytest
from sqlalchemy import exc as sa_exc

from ordertower.adapters.store.database import create_db_engine
from ordertower.adapters.store.unit_of_work import SqlUnitOfWork, conflict_reason
from ordertower.domain.clock import SystemClock
from ordertower.domain.errors import ConcurrentChange, TransactionConflict
from ordertower.engine.conflicts import MAX_DELAY_S, TRIES, retrying
from ordertower.engine.transitions import transition_order

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeOrders:
    def __init__(self, state: str):
        self.state = state
        self.writes: list[dict] = []

    def compare_and_set(self, order_id: str, expected_state: str, **values) -> bool:
        if self.state != expected_state:
            return False
        self.state = values["state"]
        self.writes.append(values)
        return True


class FakeEvents:
    def __init__(self):
        self.added: list[tuple] = []

    def add(self, type_, payload, at, **where):
        self.added.append((type_, payload))


class FakeUow:
    def __init__(self, state: str):
        self.orders, self.events = FakeOrders(state), FakeEvents()
        self.clock = type("Clock", (), {"now": staticmethod(lambda: NOW)})


def test_an_order_moves_only_from_the_state_it_was_read_in():
    uow = FakeUow("inProgress")
    order = {"id": "o1", "state": "inProgress"}

    moved = transition_order(uow, order, "held", "a plan item is in fallout")

    assert moved["state"] == "held" and uow.orders.state == "held"
    assert uow.events.added == [("ProductOrderStateChangeEvent", {
        "order": "o1", "from": "inProgress", "to": "held", "cause": "a plan item is in fallout"})]


def test_an_order_changed_since_it_was_read_is_a_concurrent_change_and_nothing_is_written():
    uow = FakeUow("completed")  # someone completed it after we read it in progress
    stale = {"id": "o1", "state": "inProgress"}

    with pytest.raises(ConcurrentChange) as refused:
        transition_order(uow, stale, "held", "a plan item is in fallout")

    assert refused.value.kind == "concurrent-change"
    assert uow.orders.state == "completed" and uow.orders.writes == [] and uow.events.added == []


def _db_error(orig: Exception, kind=sa_exc.OperationalError) -> Exception:
    return kind("UPDATE plan_items ...", {}, orig)


DEADLOCK = _db_error(psycopg.errors.DeadlockDetected("deadlock detected"))
LOST_RACE = TransactionConflict("deadlock detected")  # how the store reports DEADLOCK


@pytest.mark.parametrize("error, reason", [
    (DEADLOCK, "deadlock detected"),
    (_db_error(psycopg.errors.SerializationFailure("could not serialize access")), "serialization failure"),
    (_db_error(psycopg.errors.LockNotAvailable("could not obtain lock")), "lock not available"),
    (_db_error(sqlite3.OperationalError("database is locked")), "database is locked"),
])
def test_what_a_fresh_try_can_fix(error, reason):
    assert conflict_reason(error) == reason


@pytest.mark.parametrize("error", [
    _db_error(psycopg.errors.UniqueViolation("duplicate key"), sa_exc.IntegrityError),
    _db_error(psycopg.errors.UndefinedTable("no such table")),
    ValueError("a bug"),
    ConcurrentChange("plan item i1"),  # not the database's: the use case raises it itself
])
def test_what_it_cannot(error):
    assert conflict_reason(error) is None


def test_a_transaction_that_lost_a_race_leaves_its_unit_of_work_as_a_conflict_to_retry(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/t.db")
    with pytest.raises(TransactionConflict) as lost:
        with SqlUnitOfWork(engine, SystemClock()):
            raise DEADLOCK
    assert lost.value.reason == "deadlock detected" and lost.value.__cause__ is DEADLOCK
    with pytest.raises(ValueError):  # anything else goes through as it is
        with SqlUnitOfWork(engine, SystemClock()):
            raise ValueError("a bug")
    engine.dispose()


def _flaky(failures: list[Exception], result="done"):
    calls = []

    def use_case(*args, **kwargs):
        calls.append((args, kwargs))
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return result
    return use_case, calls


def test_a_use_case_that_deadlocked_runs_again_from_the_start_after_a_jittered_pause():
    use_case, calls = _flaky([LOST_RACE, ConcurrentChange("order o1")])
    pauses: list[float] = []

    assert retrying(use_case, sleep=pauses.append)("store", "o1", actor="op") == "done"

    assert calls == [(("store", "o1"), {"actor": "op"})] * 3
    assert len(pauses) == 2 and all(0 <= p <= MAX_DELAY_S for p in pauses)


def test_a_use_case_that_keeps_losing_answers_a_concurrent_change_not_a_database_error():
    use_case, calls = _flaky([LOST_RACE] * TRIES)

    with pytest.raises(TransactionConflict) as gave_up:
        retrying(use_case, sleep=lambda _s: None)()

    assert len(calls) == TRIES
    assert isinstance(gave_up.value, ConcurrentChange) and gave_up.value.kind == "concurrent-change"
    assert "deadlock detected" in gave_up.value.detail


def test_other_errors_are_not_run_again():
    use_case, calls = _flaky([ValueError("a bug")])

    with pytest.raises(ValueError):
        retrying(use_case, sleep=lambda _s: pytest.fail("no pause"))()
    assert len(calls) == 1
