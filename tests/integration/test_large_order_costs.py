"""What a worker reads for an item does not grow with the size of the item's order (issue
11: a 10,000-line order ran at 20 ms an item where a 1,000-line one ran at 6): a callout
reads its order without the TMF body and items (megabytes of JSON for a large order), the
jeopardy sweep reads only the open items of an order and not their specs, and the asset
recording of a claim groups its order's bundles once (engine/auto_steps.py, the memo of
``_bundles``; tests/unit/test_assetize_bundles.py). On SQLite and PostgreSQL."""

from __future__ import annotations

from ordertower.domain.lifecycle import FINAL_ITEM_STATES
from ordertower.engine import item_context, jeopardy

from ..support.engine import EngineHarness, order_body
from ..support.workload_w import W_CATALOG, w_order


def _plan_rows(engine, order_id: str) -> list[dict]:
    with engine.container.store.uow() as uow:
        return uow.plan.lock_all(order_id)


def test_a_callout_reads_its_order_without_the_tmf_body_and_a_task_reads_it_whole(engine):
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"})))
    rows = _plan_rows(engine, order_id)
    callouts = [row for row in rows if row["type"] == "callout"]
    tasks = [row for row in rows if row["type"] == "manual"]
    assert callouts and tasks
    store = engine.container.store

    for row, (order, line, _lines) in zip(callouts, (item_context.load_contexts(store, callouts)[r["id"]]
                                                     for r in callouts)):
        assert order["id"] == order_id and order["customer_id"] == "cust-1" and order["state"]
        assert "body" not in order and "items" not in order
        assert line is not None and line["line_id"] == row["line_id"]
    order, _line, _lines = item_context.load_context(store, callouts[0])
    assert "body" not in order and "items" not in order

    # a task's routing rules read the order's body (its category, priority, customer type)
    for order, _line, _lines in item_context.load_contexts(store, tasks).values():
        assert order["body"]["productOrderItem"][0]["id"] == "1"
    assert item_context.load_context(store, tasks[0])[0]["body"]["productOrderItem"][0]["id"] == "1"
    # a claim of both reads the order once, whole, for all of them
    both = item_context.load_contexts(store, callouts + tasks)
    assert all("body" in order for order, _, _ in both.values())


def test_the_jeopardy_sweep_reads_only_the_open_items_of_an_order(engine):
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"})))
    engine.step()  # the first items run; some finish
    rows = _plan_rows(engine, order_id)
    revision = max(r["revision"] for r in rows)
    with engine.container.store.read() as uow:
        read = uow.plan.open_of_revisions({order_id: revision})[order_id]
    open_rows = [r for r in rows if r["state"] not in FINAL_ITEM_STATES and r["revision"] == revision]
    assert any(r["state"] in FINAL_ITEM_STATES for r in rows)  # something finished already
    assert [r["id"] for r in read] == [r["id"] for r in sorted(open_rows, key=lambda r: r["position"])]
    assert all("spec" not in r for r in read)
    # and the sweep itself runs on them
    assert jeopardy.sweep_jeopardy(engine.container.store) >= 0


def test_an_assetize_item_reads_only_its_bundles_items_and_lines_as_they_are_now(engine):
    from ordertower.domain.inventory import asset_changes

    order_id = engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"}),
                                       ("2", "fiber", {"speed": 500, "install": "self"}),
                                       ("3", "fiber", {"speed": 1000, "install": "self"})))
    store = engine.container.store
    rows = _plan_rows(engine, order_id)
    assetize = [r for r in rows if r["type"] == "auto" and r["spec"].step == "assetize"]
    assert len(assetize) == 3
    with store.read() as uow:
        whole = uow.orders.get(order_id)
        lines = uow.orders.lines(order_id, whole["revision"])

    contexts = item_context.load_contexts(store, assetize)
    for row in assetize:
        root = row["spec"].root_item_id
        order, line, own = contexts[row["id"]]
        assert line is None and "body" not in order
        assert [i["id"] for i in order["items"]] == [root]
        mine = [ln for ln in lines if root in ln["lineage"]]
        assert own and [ln["line_id"] for ln in own] == [ln["line_id"] for ln in mine]
        assert asset_changes(root, order["items"], own, lambda _: None) == \
            asset_changes(root, whole["items"], lines, lambda _: None)

    # a later claim reads the lines again, with what callouts have written into them since
    changed = next(ln for ln in lines if "2" in ln["lineage"])
    with store.uow() as uow:
        uow.orders.update_line_attributes(order_id, whole["revision"], changed["line_id"],
                                          dict(changed["attributes"]) | {"port": "P-7"})
        uow.commit()
    second = next(r for r in assetize if r["spec"].root_item_id == "2")
    _order, _line, own = item_context.load_contexts(store, [second])[second["id"]]
    assert next(ln for ln in own if ln["line_id"] == changed["line_id"])["attributes"]["port"] == "P-7"


# --- settling an order after a set of outcomes -----------------------------------------------


def _work_of_progress(h: EngineHarness, order_id: str) -> tuple[dict, int]:
    """What settling reads of the order's plan, and what it cost the database: SQLite's
    virtual machine instructions, or PostgreSQL's pages of plan_items and its indexes."""
    with h.container.store.uow() as uow:
        order = uow.orders.get(order_id, whole=False)
        conn = uow.plan.conn
        if conn.dialect.name == "sqlite":
            steps = [0]

            def count() -> int:
                steps[0] += 1
                return 0

            raw = conn.connection.dbapi_connection
            raw.set_progress_handler(count, 1)
            try:
                figures = uow.plan.progress_of({order_id: order})[order_id]
            finally:
                raw.set_progress_handler(None, 1)
            return figures, steps[0]
        # an item's change leaves its old index entries dead; the first scan that meets one
        # marks it (then it is stepped over without reading the row), a vacuum removes it:
        # what each change costs once, whatever the order's size, so a first pass is not counted
        uow.plan.progress_of({order_id: order})
        pages = ("SELECT sum(pg_stat_get_xact_blocks_fetched(c.oid)) FROM pg_class c "
                 "WHERE c.relname = 'plan_items' OR c.oid IN "
                 "(SELECT indexrelid FROM pg_index WHERE indrelid = 'plan_items'::regclass)")
        before = conn.exec_driver_sql(pages).scalar_one()
        figures = uow.plan.progress_of({order_id: order})[order_id]
        return figures, conn.exec_driver_sql(pages).scalar_one() - before


def _vacuumed(h: EngineHarness) -> None:
    """PostgreSQL: plan_items vacuumed, as autovacuum does a busy table every minute or so."""
    engine = h.container.store.engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM plan_items")


def test_settling_an_order_reads_as_much_of_a_large_plan_as_of_a_small_one(database_url):
    """Issue 11: settling counted every item of the order after each set of outcomes, so a
    34,000-item order paid for its size on every one of its ~1,000 sets. The figures are
    existence tests on the open items' index: the same work for 7 items as for 1,400."""
    h = EngineHarness(database_url, catalog=W_CATALOG)
    try:
        small, large = h.place(w_order("settle-small")), h.place(w_order("settle-large", 200))
        # the first steps of both run (A and B claimed, the milestones after them reached in
        # the same transaction): both in progress, their asset recordings still open
        h.step()
        _vacuumed(h)  # the entries of the 1,200 items finished meanwhile
        running = {o: _work_of_progress(h, o) for o in (small, large)}
        h.settle(max_cycles=200)
        _vacuumed(h)  # the entries of 1,400 finished items: stepped over until a vacuum
        done = {o: _work_of_progress(h, o) for o in (small, large)}
        sizes = {o: len(_plan_rows(h, o)) for o in (small, large)}
    finally:
        h.close()
    assert sizes == {small: 7, large: 1_400}
    open_, finished = {"anything_open": True, "anything_in_fallout": False, "started": True}, \
        {"anything_open": False, "anything_in_fallout": False, "started": True}
    assert {o: f for o, (f, _) in running.items()} == {small: open_, large: open_}
    assert {o: f for o, (f, _) in done.items()} == {small: finished, large: finished}
    for work in (running, done):  # a page or two of an index more at most, never per item
        assert work[large][1] <= work[small][1] + 3, work
