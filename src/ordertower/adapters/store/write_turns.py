"""Turns at SQLite's one write lock: the API's writes go before the engine's (issue 11: intake).

SQLite lets one transaction write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler (1, 2, 5, 10, 15, 20, 25, 50, 100 ms...) and tries again, so behind a
worker that commits outcome after outcome, an order placement lost race after race and
waited hundreds of milliseconds (p99 0.6 to 3 s at 100 orders/s). The processes that share a
database file now take turns through two lock files beside it (``flock``: the kernel drops
a lock when its process dies, and they never touch SQLite's own locks on the database file):

- ``<database>-turns``: who writes. **Intake** (serve's or the API's process) takes it
  *shared*, one transaction of the process at a time (they would queue for SQLite's lock
  anyway, and queue here without SQLite's sleeps); while any of its writers is waiting or
  writing, the process keeps its share, so its writers follow each other. **Engine** (a
  worker process) takes it *exclusively* for each write transaction.
- ``<database>-intake``: who waits. An intake writer takes it *shared* as soon as it wants to
  write, before waiting for its turn; an engine transaction starts only when it could take
  it exclusively (then lets go at once). So once the API waits, the engine finishes the
  transaction it is in and starts no other until the API has written: an order placement
  waits for one engine transaction at most, however fast the engine comes back.

The engine waits for the API up to ``ENGINE_PATIENCE_S``; past that it writes anyway, through
SQLite's busy handler as before, so a busy API slows the engine but never stops it. The
``-intake`` file also holds the time of the API's last write (``CLOCK_MONOTONIC``, the same in
every process of the machine): a worker keeps its write transactions short while the API
writes (``EngineTurns.intake_active``), and writes its outcomes in large sets otherwise.

Locks are taken with a non-blocking ``flock``, polled (every ``INTAKE_POLL_S`` and
``ENGINE_POLL_S``): a blocking one cannot time out, and a stuck holder must not stop the others
for good. Read transactions take no turn (WAL readers never wait for the writer). A process
that cannot open the lock files (a read-only folder) writes without turns, as before.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import time
from pathlib import Path

INTAKE_POLL_S = 0.0002
ENGINE_POLL_S = 0.0005
# an intake writer waits for the engine this long at most (SQLite's own busy timeout then
# applies): a stuck engine transaction holds SQLite's lock too
INTAKE_PATIENCE_S = 60.0
ENGINE_PATIENCE_S = 0.5

_STAMP = struct.Struct("d")  # the -intake file's content: when the API last wrote


def turns_paths(database: Path) -> tuple[Path, Path]:
    """The ``-turns`` and ``-intake`` lock files of a SQLite database file."""
    return (database.with_name(database.name + "-turns"),
            database.with_name(database.name + "-intake"))


def _open(path: Path) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return None


def _stamp_map(fd: int | None) -> mmap.mmap | None:
    """The stamp, mapped (shared between processes); None if it cannot be."""
    if fd is None:
        return None
    try:
        if os.fstat(fd).st_size < _STAMP.size:
            os.ftruncate(fd, _STAMP.size)  # zeros: "never"
        return mmap.mmap(fd, _STAMP.size)
    except (OSError, ValueError):
        return None


def _try(fd: int, mode: int) -> bool | None:
    """One non-blocking attempt: True taken, False held by another, None unusable."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return None


def _flock_within(fd: int, mode: int, poll_s: float, patience_s: float) -> bool:
    """Take the lock (``mode``: LOCK_SH or LOCK_EX) within ``patience_s``; False if not."""
    deadline = time.monotonic() + patience_s
    while True:
        taken = _try(fd, mode)
        if taken:
            return True
        if taken is None or time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


class IntakeTurns:
    """The API's side: it says it waits (``-intake`` shared), then writes one transaction
    of this process at a time under ``-turns`` shared, kept while its writers follow each
    other."""

    def __init__(self, database: Path):
        turns, intake = turns_paths(database)
        self._turns_fd, self._intake_fd = _open(turns), _open(intake)
        # this process's writers, one at a time (a semaphore: a transaction may end in another
        # thread than it began, a pooled connection reset by the garbage collector)
        self._mutex = threading.Semaphore(1)
        self._count_lock = threading.Lock()
        self._wanting = 0  # writers waiting for their turn or writing
        self._announced = False  # -intake held shared (changed under _count_lock)
        self._shared = False  # -turns held shared (changed under _mutex)
        self._holding: dict[int, bool] = {}  # connection -> whether it holds the mutex
        self._stamp = _stamp_map(self._intake_fd)

    def begin(self, connection: object) -> None:
        if self._stamp is not None:
            self._stamp[:_STAMP.size] = _STAMP.pack(time.monotonic())
        with self._count_lock:
            self._wanting += 1
            if not self._announced and self._intake_fd is not None:
                # an engine holds it exclusively for an instant at most (to look)
                self._announced = _flock_within(self._intake_fd, fcntl.LOCK_SH, INTAKE_POLL_S, 1.0)
        # a writer that waits this long is stuck behind one that will fail SQLite's own busy
        # timeout: it goes on without its turn rather than wait for ever
        mine = self._mutex.acquire(timeout=INTAKE_PATIENCE_S)
        with self._count_lock:
            self._holding[id(connection)] = mine
        if mine and not self._shared and self._turns_fd is not None:
            self._shared = _flock_within(self._turns_fd, fcntl.LOCK_SH, INTAKE_POLL_S, INTAKE_PATIENCE_S)

    def end(self, connection: object) -> None:
        """The transaction on ``connection`` ended (committed or rolled back; idempotent)."""
        with self._count_lock:
            if id(connection) not in self._holding:
                return
            mine = self._holding.pop(id(connection))
            self._wanting -= 1
            last = self._wanting == 0
            if last and self._announced:
                fcntl.flock(self._intake_fd, fcntl.LOCK_UN)
                self._announced = False
        if mine:
            if last and self._shared:
                fcntl.flock(self._turns_fd, fcntl.LOCK_UN)
                self._shared = False
            self._mutex.release()


class EngineTurns:
    """A worker's side: each write transaction holds ``-turns`` exclusively, taken once no API
    writer waits or writes (or after ENGINE_PATIENCE_S)."""

    def __init__(self, database: Path):
        self._turns_path, self._intake_path = turns_paths(database)
        self._held: dict[int, int] = {}  # connection -> its -turns file descriptor
        self._lock = threading.Lock()
        fd = _open(self._intake_path)
        self._stamp = _stamp_map(fd)
        if fd is not None:
            os.close(fd)  # the mapping stays

    def intake_active(self, within_s: float) -> bool:
        """The API wrote within the last ``within_s`` seconds."""
        if self._stamp is None:
            return False
        (last,) = _STAMP.unpack(self._stamp[:_STAMP.size])
        return last > 0 and time.monotonic() - last <= within_s

    def _no_intake_waiting(self, fd: int) -> bool | None:
        taken = _try(fd, fcntl.LOCK_EX)
        if taken:
            fcntl.flock(fd, fcntl.LOCK_UN)
        return taken

    def begin(self, connection: object) -> None:
        turns, intake = _open(self._turns_path), _open(self._intake_path)
        if turns is None or intake is None:
            for fd in (turns, intake):
                if fd is not None:
                    os.close(fd)
            return
        deadline = time.monotonic() + ENGINE_PATIENCE_S
        try:
            while True:
                free = self._no_intake_waiting(intake)
                if free is None:  # unusable: write without a turn
                    os.close(turns)
                    return
                if free:
                    taken = _try(turns, fcntl.LOCK_EX)
                    if taken is None:
                        os.close(turns)
                        return
                    if taken:
                        break
                if time.monotonic() >= deadline:  # the API keeps writing: the engine too
                    os.close(turns)
                    return
                time.sleep(ENGINE_POLL_S)
        finally:
            os.close(intake)
        with self._lock:
            self._held[id(connection)] = turns

    def end(self, connection: object) -> None:
        with self._lock:
            fd = self._held.pop(id(connection), None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops its lock


def write_turns(role: str | None, database: Path | None) -> IntakeTurns | EngineTurns | None:
    """The turns of a process of ``role`` (``intake``, ``engine``; None: none) on a SQLite file."""
    if role is None or database is None:
        return None
    if role == "intake":
        return IntakeTurns(database)
    if role == "engine":
        return EngineTurns(database)
    raise ValueError(f"unknown write-turn role {role!r}")
