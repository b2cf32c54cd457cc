"""What operations teams watch: ``/metrics`` in Prometheus text format, and the health
endpoints a load balancer and an orchestrator probe."""

from __future__ import annotations

import threading

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from ordertower.adapters.store.migrate import head_revision

from ..support.catalogs import fast_retries, write_catalog
from ..support.live import SEED_ORDER


def scrape(server) -> dict[tuple[str, tuple], float]:
    resp = server.client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_after_an_order_completes_count_orders_items_callouts_and_worker_work(server):
    worker = server.container.workers[0].name
    before = scrape(server)

    order_id = server.post_order().json()["id"]
    server.wait_for(order_id)
    after = scrape(server)

    assert value(after, "ordertower_orders", state="completed") == 1
    assert value(after, "ordertower_orders", state="inProgress") == 0
    assert value(after, "ordertower_plan_items", state="completed", system="warehouse") == 2
    assert value(after, "ordertower_plan_items", state="completed", system="network") == 1
    assert value(after, "ordertower_plan_items", state="completed", system="billing") == 2
    assert value(after, "ordertower_plan_items", state="completed", system="") == 2  # assetize
    for system, calls in (("warehouse", 2), ("network", 1), ("billing", 2)):
        grown = value(after, "ordertower_callouts_total", system=system, outcome="ok") \
            - value(before, "ordertower_callouts_total", system=system, outcome="ok")
        assert grown == calls
        latencies = value(after, "ordertower_callout_duration_seconds_count", system=system) \
            - value(before, "ordertower_callout_duration_seconds_count", system=system)
        assert latencies == calls
    assert value(after, "ordertower_worker_claims_total", worker=worker) \
        - value(before, "ordertower_worker_claims_total", worker=worker) == 7
    assert value(after, "ordertower_worker_records_total", worker=worker, state="completed") \
        - value(before, "ordertower_worker_records_total", worker=worker, state="completed") == 7
    assert value(after, "ordertower_fallout_depth", system="network") == 0
    assert value(after, "ordertower_queue_lag_seconds") == 0
    assert value(after, "ordertower_orders_in_jeopardy", level="GREEN") == 0  # none open


def test_metrics_show_fallout_depth_per_system(server_factory, tmp_path):
    server = server_factory(catalog_path=str(write_catalog(
        tmp_path / "catalog", lambda docs: fast_retries(docs, max_attempts=2))))
    server.set_simulator("network", failure_rate=1.0)
    order_id = server.post_order().json()["id"]
    server.wait_for(order_id, states={"held"}, timeout=120)

    samples = scrape(server)

    assert value(samples, "ordertower_fallout_depth", system="network") == 1
    assert value(samples, "ordertower_plan_items", state="fallout", system="network") == 1
    assert value(samples, "ordertower_orders", state="held") == 1
    assert value(samples, "ordertower_orders_in_jeopardy", level="GREEN") \
        + value(samples, "ordertower_orders_in_jeopardy", level="YELLOW") \
        + value(samples, "ordertower_orders_in_jeopardy", level="RED") == 1
    assert value(samples, "ordertower_callouts_total", system="network", outcome="retryable") >= 1


def test_queue_lag_is_the_age_of_the_oldest_item_nobody_has_claimed(server_factory):
    api_only = server_factory(start_workers=False)  # nobody claims: work waits
    order_id = api_only.post_order(SEED_ORDER).json()["id"]
    engine = api_only.container.store.engine
    with engine.begin() as conn:  # the ready items became ready 90 seconds ago
        conn.execute(sa.text("UPDATE plan_items SET updated_at = updated_at - interval '90 seconds' "
                             "WHERE order_id = :o AND state = 'ready'")
                     if engine.dialect.name == "postgresql" else
                     sa.text("UPDATE plan_items SET updated_at = datetime(updated_at, '-90 seconds') "
                             "WHERE order_id = :o AND state = 'ready'"), {"o": order_id})

    lag = value(scrape(api_only), "ordertower_queue_lag_seconds")

    assert 90 <= lag < 150
    assert value(scrape(api_only), "ordertower_orders", state="acknowledged") == 1


def test_live_answers_without_the_database_and_ready_checks_database_schema_and_workers(server):
    assert server.client.get("/health/live").json()["status"] == "ok"
    ready = server.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "schema": "ok", "workers": 1,
                            "workers_ok": True}
    assert server.client.get("/health").status_code == 200  # kept for compatibility

    engine = server.container.store.engine
    with engine.begin() as conn:  # as if another version had migrated it back
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0004'"))
    try:
        not_ready = server.client.get("/health/ready")
        live = server.client.get("/health/live")
    finally:  # the PostgreSQL test database is shared by the tests that follow
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :head"),
                         {"head": head_revision()})
    assert not_ready.status_code == 503
    assert "schema at 0004" in not_ready.json()["schema"]
    assert live.status_code == 200


def test_health_answers_while_the_apis_database_pool_is_slow_to_say_the_newest_catalog(
        server_factory, monkeypatch):
    # the API's own pool stuck (every connection busy, a lock queue on SQLite): the catalog
    # version /health shows is the one this process runs, not one read from the database on
    # the event loop, which stalled /health (and every request) for as long as the pool did
    from ordertower.adapters import catalog_registry

    released = threading.Event()

    def newest_id_stuck(engine):
        released.wait(30)
        return None

    server = server_factory(catalog_refresh_seconds=0.0)  # a refresh is due at every look
    monkeypatch.setattr(catalog_registry.versions, "newest_id", newest_id_stuck)
    placing = threading.Thread(target=server.post_order)  # its catalog look waits on the pool
    placing.start()
    try:
        for path in ("/health", "/health/live", "/metrics"):
            answer = httpx.get(f"{server.url}{path}", timeout=3)
            assert answer.status_code == 200, path
        assert httpx.get(f"{server.url}/health", timeout=3).json()["catalog_version"] == \
            server.container.catalogs.in_use.version
        assert placing.is_alive()  # still waiting: only the order placed waits, no one else
    finally:
        released.set()
        placing.join(30)
