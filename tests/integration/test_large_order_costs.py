"""What a worker reads for an item does not grow with the size of the item's order (issue
11: a 10,000-line order ran at 20 ms an item where a 1,000-line one ran at 6): a callout
reads its order without the TMF body and items (megabytes of JSON for a large order), the
jeopardy sweep reads only the open items of an order and not their specs, and the asset
recording of a claim groups its order's bundles once (engine/auto_steps.py, the memo of
``_bundles``; tests/unit/test_assetize_bundles.py). On SQLite and PostgreSQL."""

from __future__ import annotations

from ordertower.domain.lifecycle import FINAL_ITEM_STATES
from ordertower.engine import item_context, jeopardy

from ..support.engine import order_body


def _plan_rows(engine, order_id: str) -> list[dict]:
    with engine.container.store.uow() as uow:
        return uow.plan.lock_all(order_id)


def test_a_callout_reads_its_order_without_the_tmf_body_and_an_auto_step_reads_it_whole(engine):
    order_id = engine.place(order_body(("1", "fiber", {"speed": 100, "install": "technician"})))
    rows = _plan_rows(engine, order_id)
    callouts = [row for row in rows if row["type"] == "callout"]
    autos = [row for row in rows if row["type"] == "auto"]
    assert callouts and autos
    store = engine.container.store

    for row, (order, line, _lines) in zip(callouts, (item_context.load_contexts(store, callouts)[r["id"]]
                                                     for r in callouts)):
        assert order["id"] == order_id and order["customer_id"] == "cust-1" and order["state"]
        assert "body" not in order and "items" not in order
        assert line is not None and line["line_id"] == row["line_id"]
    order, _line, _lines = item_context.load_context(store, callouts[0])
    assert "body" not in order and "items" not in order

    for order, _line, _lines in item_context.load_contexts(store, autos).values():
        assert order["body"]["productOrderItem"][0]["id"] == "1"
        assert [i["id"] for i in order["items"]] == ["1"]
    assert item_context.load_context(store, autos[0])[0]["body"]["productOrderItem"][0]["id"] == "1"
    # a claim of both reads the order once, whole, for all of them
    both = item_context.load_contexts(store, callouts + autos)
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
