"""A claim on PostgreSQL reads a few pages, not every item claimed since the table was last
vacuumed (issue 11: intake while the workers run). An item made ready and then claimed leaves
a dead entry in the indexes on ``state``; a bitmap scan (or a sequential one) visits every
such entry's page on every claim, until a vacuum: under a steady load thousands, and the
p99 of an order placement beside the workers was 81 ms. An index scan marks them dead on its
way, and the claims after it skip them; the claim asks for one whatever the statistics say
(none yet, or those of a moment when the queue was full)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from ordertower.engine import leases

from ..support.engine import EngineHarness
from ..support.workload_w import W_CATALOG, w_order

LEASE = timedelta(seconds=60)
ROOM = 1_000  # what a worker claims at most (its --max-in-flight)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("statistics", ["none yet", "a busy queue"])
def test_a_claim_after_a_thousand_claimed_items_reads_a_few_pages(pg_database_url, statistics):
    from ..conftest import _truncate

    _truncate(pg_database_url)
    h = EngineHarness(pg_database_url, catalog=W_CATALOG)
    try:
        store = h.container.store
        with store.engine.begin() as conn:  # no vacuum may clean up behind the test's back
            conn.exec_driver_sql("ALTER TABLE plan_items SET (autovacuum_enabled = false)")
        for i in range(500):
            h.place(w_order(f"claim-plan-{i}"))
        if statistics == "a busy queue":  # what autovacuum's ANALYZE saw at a busy moment
            with store.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE plan_items")
        claimed = leases.claim(store, "busy-worker", ROOM, LEASE)
        assert len(claimed) == 1_000  # steps A and B of every order: ready, then running
        assert leases.claim(store, "busy-worker", ROOM, LEASE) == []  # a claim in between

        with store.uow() as uow:  # the pages of plan_items this one claim reads
            fetched = "SELECT pg_stat_get_xact_blocks_fetched('plan_items'::regclass)"
            before = uow.plan.conn.exec_driver_sql(fetched).scalar_one()  # (not reset per transaction)
            assert uow.plan.claim("watching-worker", ROOM, h.clock.now(), h.clock.now() + LEASE) == []
            pages = uow.plan.conn.exec_driver_sql(fetched).scalar_one() - before
    finally:
        with h.container.store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE plan_items RESET (autovacuum_enabled)")
        h.close()
    assert pages < 50


def _plan_nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _plan_nodes(child))]


@pytest.mark.timeout(120)
def test_completing_a_few_items_of_a_large_queue_reads_them_by_their_key(pg_database_url):
    """A set's completions and its successors' counters are one statement each over arrays
    (repositories._PG_COMPLETE, _PG_DECREMENT_PENDING). Joined to the array alone,
    the planner read every plan item for them (a hash join over a sequential scan), each set:
    a 10,000-line order's run slowed down as its plan grew."""
    from ..conftest import _truncate
    from ordertower.adapters.store.repositories import _PG_COMPLETE, _PG_DECREMENT_PENDING

    _truncate(pg_database_url)
    h = EngineHarness(pg_database_url, catalog=W_CATALOG)
    try:
        store = h.container.store
        for i in range(1_000):
            h.place(w_order(f"claim-plan-{i}"))
        with store.engine.begin() as conn:  # the statistics of a full table
            conn.exec_driver_sql("ANALYZE plan_items")
        claimed = leases.claim(store, "busy-worker", 200, LEASE)
        ids = [row["id"] for row in claimed]
        with store.uow() as uow:
            now = h.clock.now()
            successors = [succ for succ, _ in uow.plan.successors_of(ids)]
            scans = []
            for statement, params in [
                    *((_PG_COMPLETE[reached], {"ids": ids, "outputs": ["{}"] * len(ids), "now": now,
                                               "completed": "completed", "expected": "running",
                                               "green": "green"}) for reached in (False, True)),
                    (_PG_DECREMENT_PENDING.element, {"ids": successors, "ns": [1] * len(successors), "now": now})]:
                explained = uow.plan.conn.execute(sa.text("EXPLAIN (FORMAT JSON) " + statement.text),
                                                  params).scalar_one()
                scans.append({(node["Node Type"], node.get("Index Name")) for node in _plan_nodes(explained[0]["Plan"])
                              if node.get("Relation Name") == "plan_items" and node["Node Type"] != "ModifyTable"})
    finally:
        h.close()
    assert len(successors) >= 200
    assert all(found and all(kind != "Seq Scan" for kind, _ in found) for found in scans), scans
