"""On SQLite (one writer at a time), the API's writes go before the engine's: an order placed
while a worker commits outcome after outcome waits for the worker's transaction in progress,
not for the ones after it; and a busy API slows the worker but never stops it
(adapters/store/write_turns.py, issue 11: intake)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from ordertower.adapters.store.database import create_db_engine, write_turns_of

ENGINE_HOLDS_S = 0.005  # each engine transaction holds the write lock this long


class Timeline:
    """What happened, in order, across threads."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._lock = threading.Lock()

    def add(self, event: str) -> None:
        with self._lock:
            self.events.append(event)


def _engines(tmp_path, turns: bool):
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    api = create_db_engine(url, role="intake" if turns else None)
    worker = create_db_engine(url, role="engine" if turns else None)
    plain = create_db_engine(url)  # a command's engine: no turns
    with plain.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE log (seq INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT)")
    plain.dispose()
    return api, worker


def _engine_loop(worker, timeline: Timeline, stop: threading.Event) -> None:
    """A worker committing back to back, each transaction holding the lock a while."""
    while not stop.is_set():
        with worker.begin() as conn:
            conn.exec_driver_sql("INSERT INTO log (who) VALUES ('engine')")
            time.sleep(ENGINE_HOLDS_S)
        timeline.add("engine committed")


def _api_writes(api, timeline: Timeline, n: int) -> None:
    for _ in range(n):
        time.sleep(0.003)  # placements arrive now and then
        timeline.add("api wants")
        with api.begin() as conn:
            conn.exec_driver_sql("INSERT INTO log (who) VALUES ('api')")
        timeline.add("api committed")


def _engine_commits_while_the_api_waited(events: list[str]) -> list[int]:
    counts, waiting = [], None
    for event in events:
        if event == "api wants":
            waiting = 0
        elif event == "engine committed" and waiting is not None:
            waiting += 1
        elif event == "api committed":
            counts.append(waiting)
            waiting = None
    return counts


def _run(tmp_path, turns: bool, placements: int = 40) -> list[int]:
    api, worker = _engines(tmp_path, turns)
    timeline, stop = Timeline(), threading.Event()
    engine = threading.Thread(target=_engine_loop, args=(worker, timeline, stop))
    engine.start()
    try:
        _api_writes(api, timeline, placements)
    finally:
        stop.set()
        engine.join(30)
        api.dispose()
        worker.dispose()
    return _engine_commits_while_the_api_waited(timeline.events)


def test_an_order_placement_waits_for_the_engine_transaction_in_progress_not_the_ones_after_it(tmp_path):
    counts = _run(tmp_path, turns=True)
    assert len(counts) == 40
    # the transaction in progress when the API asked, and at most one that had already
    # looked for waiting API writers an instant before the API said it waits
    assert max(counts) <= 2, counts


def test_a_busy_api_slows_the_engine_but_never_stops_it(tmp_path):
    api, worker = _engines(tmp_path, turns=True)
    stop = threading.Event()

    def api_back_to_back() -> None:  # two API threads writing without a pause
        while not stop.is_set():
            with api.begin() as conn:
                conn.exec_driver_sql("INSERT INTO log (who) VALUES ('api')")

    writers = [threading.Thread(target=api_back_to_back) for _ in range(2)]
    for thread in writers:
        thread.start()
    try:
        started = time.monotonic()
        for _ in range(3):
            with worker.begin() as conn:
                conn.exec_driver_sql("INSERT INTO log (who) VALUES ('engine')")
        took = time.monotonic() - started
    finally:
        stop.set()
        for thread in writers:
            thread.join(30)
    with api.connect() as conn:
        who = dict(conn.execute(sa.text("SELECT who, count(*) FROM log GROUP BY who")).all())
    api.dispose()
    worker.dispose()
    assert who["engine"] == 3 and who["api"] > 0
    assert took < 30  # each waited ENGINE_PATIENCE_S (0.5 s) at most for its turn, then wrote


def test_a_worker_knows_when_the_api_writes(tmp_path):
    api, worker = _engines(tmp_path, turns=True)
    engine_turns = write_turns_of(worker)
    assert not engine_turns.intake_active(60.0)  # the API never wrote
    with api.begin() as conn:
        conn.exec_driver_sql("INSERT INTO log (who) VALUES ('api')")
    assert engine_turns.intake_active(1.0)
    with worker.begin() as conn:  # the engine's own writes say nothing of the API
        conn.exec_driver_sql("INSERT INTO log (who) VALUES ('engine')")
    time.sleep(0.05)
    assert not engine_turns.intake_active(0.01)
    api.dispose()
    worker.dispose()


@pytest.mark.parametrize("role", ["intake", "engine"])
def test_a_database_folder_without_room_for_the_lock_files_is_written_without_turns(tmp_path, role):
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'x.db'}"
    with create_db_engine(url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    for name in ("x.db-turns", "x.db-intake"):  # where the lock files would go: not files
        (folder / name).mkdir()
    engine = create_db_engine(url, role=role)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
    engine.dispose()
