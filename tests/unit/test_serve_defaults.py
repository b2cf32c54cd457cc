"""How many worker processes `ordertower serve` starts when not told (--workers)."""

from __future__ import annotations

import pytest

from ordertower.entrypoints.cli import default_worker_processes


@pytest.mark.parametrize("cpus", [1, 2, 8, 64])
def test_on_sqlite_one_worker_process_whatever_the_cpus(cpus):
    assert default_worker_processes("sqlite", cpus) == 1


@pytest.mark.parametrize("cpus, processes", [(1, 1), (2, 1), (3, 1), (4, 2), (6, 3), (8, 4), (64, 4)])
def test_on_postgresql_one_worker_process_per_two_cpus_from_one_to_four(cpus, processes):
    assert default_worker_processes("postgresql", cpus) == processes
