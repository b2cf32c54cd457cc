"""The item life cycle's handlers on an in-memory unit of work (tests/support/fake_uow.py):
an item fails (retry or fallout), completes (successors released, the order settled), and a
revision withdraws work (cancel, leave running, undo in reverse order). Milliseconds each."""

from __future__ import annotations

from datetime import timedelta

from ordertower.domain.catalog import Request, RetryPolicy
from ordertower.domain.item_spec import ItemSpec
from ordertower.engine import items, order_state
from ordertower.services.changes import withdraw

from ..support.fake_uow import START, FakeUnitOfWork

RETRY_TWICE = ItemSpec(retry=RetryPolicy(strategy="fixed", max_attempts=2, interval="10s", jitter=0))
UNDOABLE = ItemSpec(compensation=Request(method="POST", path="/shipments/cancel"))


def test_a_retryable_failure_with_attempts_left_is_retried_after_the_policy_interval():
    uow = FakeUnitOfWork()
    order = uow.order()
    row = uow.item("ship", spec=RETRY_TWICE, attempts=1)

    state = items.fail(uow, row, order, "warehouse answered 503", retryable=True)

    assert state == "retrying" and uow.state_of("ship") == "retrying"
    assert uow.plan.rows["ship"]["not_before"] == START + timedelta(seconds=10)
    assert uow.orders.rows["o1"]["state"] == "inProgress"


def test_a_failure_with_its_attempts_spent_falls_out_and_holds_the_order():
    uow = FakeUnitOfWork()
    order = uow.order()
    row = uow.item("ship", spec=RETRY_TWICE, attempts=2)

    assert items.fail(uow, row, order, "warehouse answered 503", retryable=True) == "fallout"
    assert uow.plan.rows["ship"]["last_error"] == "warehouse answered 503"
    assert uow.orders.rows["o1"]["state"] == "held"


def test_a_fatal_failure_falls_out_at_once_whatever_the_policy():
    uow = FakeUnitOfWork()
    order = uow.order()
    row = uow.item("ship", spec=RETRY_TWICE, attempts=1)

    assert items.fail(uow, row, order, "404", retryable=False) == "fallout"


def test_an_operators_retry_restarts_the_policy():
    uow = FakeUnitOfWork()
    order = uow.order()
    row = uow.item("ship", spec=RETRY_TWICE.evolve(attempt_offset=2), attempts=3)

    assert items.fail(uow, row, order, "503", retryable=True) == "retrying"


def test_the_failure_of_withdrawn_work_is_discarded_and_its_undo_skipped():
    uow = FakeUnitOfWork()
    order = uow.order(revision=2)  # a revision withdrew the item while it ran
    uow.item("ship", spec=UNDOABLE.evolve(compensated_by="ship~undo"), revision=1)
    uow.item("ship~undo", state="pending", after=["ship"], spec=ItemSpec(compensates="ship"),
             revision=2)
    uow.item("activate", state="pending", after=["ship~undo"], revision=2)

    assert items.fail(uow, uow.plan.get("ship"), order, "503", retryable=True) == "cancelled"
    assert uow.transitions("ship") == ["fallout", "cancelled"]
    assert uow.state_of("ship~undo") == "skipped"  # nothing was done, nothing to undo
    assert uow.state_of("activate") == "ready"  # new work no longer waits for it


def test_completing_the_last_dependency_makes_successors_ready_or_held_when_offline():
    uow = FakeUnitOfWork()
    order = uow.order()
    uow.orchestration.offline = {"billing"}
    uow.item("ship")
    uow.item("activate", state="pending", after=["ship"], system="network")
    uow.item("bill", state="pending", after=["ship"], system="billing")

    assert items.complete(uow, uow.plan.get("ship"), order, {}, "done") == "completed"
    assert uow.state_of("activate") == "ready"
    assert uow.transitions("bill") == ["ready", "onHold"]
    assert uow.plan.released_count == 1


def test_completing_the_last_open_item_completes_the_order():
    uow = FakeUnitOfWork()
    order = uow.order()
    uow.item("ship", state="completed")
    uow.item("activate")

    items.complete(uow, uow.plan.get("activate"), order, {}, "done")

    assert uow.orders.rows["o1"]["state"] == "completed"
    assert uow.orders.rows["o1"]["completion_date"] == START


def test_while_an_order_is_cancelled_only_the_undoing_runs_after_completed_work():
    uow = FakeUnitOfWork()
    order = uow.order(state="pendingCancellation")
    uow.item("ship")
    uow.item("activate", state="pending", after=["ship"])
    uow.item("ship~undo", state="pending", after=["ship"], spec=ItemSpec(compensates="ship"))

    items.complete(uow, uow.plan.get("ship"), order, {}, "done")

    assert uow.state_of("activate") == "cancelled"
    assert uow.state_of("ship~undo") == "ready"


def test_an_order_leaves_held_once_no_item_is_in_fallout():
    uow = FakeUnitOfWork()
    uow.order(state="held")
    uow.item("ship", state="ready")

    order_state.settle_order(uow, "o1")

    assert uow.orders.rows["o1"]["state"] == "inProgress"


def test_a_cancellation_ends_when_every_item_is_closed_and_its_request_is_done():
    uow = FakeUnitOfWork()
    uow.order(state="pendingCancellation")
    uow.item("ship", state="compensated")
    uow.changes.cancel_requests["c1"] = {"id": "c1", "order_id": "o1", "state": "inProgress"}

    order_state.settle_order(uow, "o1")

    assert uow.orders.rows["o1"]["state"] == "cancelled"
    assert uow.changes.cancel_requests["c1"]["state"] == "done"
    assert any(e["type"] == "CancelProductOrderStateChangeEvent" for e in uow.events.added)


def test_a_revision_cancels_unstarted_work_and_undoes_done_work_in_reverse_order():
    uow = FakeUnitOfWork()
    uow.order()
    first = uow.item("ship-device", state="completed", spec=UNDOABLE)
    second = uow.item("ship-sim", state="completed", spec=UNDOABLE)
    uow.plan.rows["ship-device"]["finished_at"] = START
    uow.plan.rows["ship-sim"]["finished_at"] = START + timedelta(seconds=5)
    running = uow.item("activate", state="running", spec=UNDOABLE)
    kept = uow.item("bill", state="completed", spec=ItemSpec(compensate="ignore"))
    unstarted = uow.item("assetize", state="pending", after=["activate"], type_="auto", system=None)

    done = withdraw(uow, [uow.plan.get(k) for k in ("ship-device", "ship-sim", "activate", "bill",
                                                   "assetize")], 2, "revision 2", cancelling=False)

    assert done["cancelled"] == [unstarted["id"]]
    assert done["running"] == [running["id"]] and done["kept"] == [kept["id"]]
    undo = [uow.plan.rows[i] for i in done["compensations"]]
    # the running work finishes last, so it is undone first; then the later of the two done
    assert [u["spec"].compensates for u in undo] == ["activate", "ship-sim", "ship-device"]
    assert [u["state"] for u in undo] == ["pending", "pending", "pending"]
    assert undo[0]["depends_on"] == ["activate"]  # waits for the running work to end
    assert undo[2]["depends_on"] == [undo[1]["key"]]  # each waits for the one before
    assert uow.state_of("ship-device") == "compensating" and uow.state_of("activate") == "running"
    assert uow.plan.rows["activate"]["spec"].compensated_by == undo[0]["id"]
    assert first["id"] != second["id"]


def test_an_item_falling_out_is_assigned_by_the_first_fallout_rule_that_matches_it():
    uow = FakeUnitOfWork()
    order = uow.order()
    uow.fallout_work.rule_rows = [
        {"id": "r-billing", "system": "billing", "error": None, "product": None, "user_name": "bea", "queue": None},
        {"id": "r-timeouts", "system": None, "error": "time(d)? ?out", "product": None, "user_name": None,
         "queue": "network-desk"},
        {"id": "r-network", "system": "network", "error": None, "product": None, "user_name": "nils", "queue": None}]
    timed_out = uow.item("activate", spec=RETRY_TWICE, attempts=2)
    refused = uow.item("port", spec=RETRY_TWICE, attempts=2)
    shipped = uow.item("ship", system="warehouse", spec=RETRY_TWICE, attempts=2)

    items.fail(uow, timed_out, order, "network timed out after 5s", retryable=True)
    items.fail(uow, uow.plan.get("port"), uow.orders.get("o1"), "409 port taken", retryable=False)
    items.fail(uow, shipped, uow.orders.get("o1"), "warehouse answered 500", retryable=True)

    assigned = uow.fallout_work.assigned
    assert (assigned["activate"]["queue"], assigned["activate"]["rule_id"]) == ("network-desk", "r-timeouts")
    assert (assigned["port"]["user_name"], assigned["port"]["rule_id"]) == ("nils", "r-network")
    assert "ship" not in assigned  # no rule matches: left for whoever takes it
    assert [e["rule"] for e in uow.events.added if e["type"] == "FalloutAssignEvent"] == ["r-timeouts", "r-network"]
    assert refused["state"] == "running"  # the row as read; the store has it in fallout
    assert uow.state_of("port") == "fallout"


def test_outputs_of_a_set_land_in_their_lines_the_later_item_over_the_earlier():
    uow = FakeUnitOfWork()
    uow.order()
    uow.orders.lines[("o1", 1, "1")] = {"line_id": "1", "attributes": {"plan": "basic"}}
    uow.orders.lines[("o1", 1, "2")] = {"line_id": "2", "attributes": {}}
    reserve = ItemSpec(outputs={"msisdn": "number", "status": "state"})
    activate = ItemSpec(outputs={"status": "state"})
    done = [(uow.item("reserve", spec=reserve) | {"line_id": "1"}, {"number": "+3161234", "state": "reserved"}),
            (uow.item("activate", spec=activate) | {"line_id": "1"}, {"state": "active"}),
            (uow.item("ship", spec=reserve) | {"line_id": "2"}, {"other": 1}),  # maps nothing it has
            (uow.item("note", spec=ItemSpec()) | {"line_id": "2"}, {"number": "ignored"})]

    items.apply_outputs_of_many(uow, done)

    assert uow.orders.lines[("o1", 1, "1")]["attributes"] == {
        "plan": "basic", "msisdn": "+3161234", "status": "active"}
    assert uow.orders.lines[("o1", 1, "2")]["attributes"] == {}
