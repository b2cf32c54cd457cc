"""A claim on PostgreSQL reads a few pages, not every item claimed since the table was last
vacuumed (issue 11: intake while the workers run). An item made ready and then claimed leaves
a dead entry in the indexes on ``state``; a bitmap scan (or a sequential one) visits every
such entry's page on every claim, until a vacuum: under a steady load thousands, and the
p99 of an order placement beside the workers was 81 ms. An index scan marks them dead on its
way, and the claims after it skip them; the claim asks for one whatever the statistics say
(none yet, or those of a moment when the queue was full)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ordertower.engine import leases

from ..support.engine import EngineHarness

W_CATALOG = Path(__file__).resolve().parents[2] / "benchmarks" / "catalogs" / "workload-w"
LEASE = timedelta(seconds=60)
ROOM = 1_000  # what a worker claims at most (its --max-in-flight)


def w_order(i: int) -> dict:
    return {"externalId": f"claim-plan-{i}", "relatedParty": [{"id": f"claim-plan-{i}", "role": "customer"}],
            "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": "w-order"}}]}


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
            h.place(w_order(i))
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
