"""The engine's decisions, as pure domain functions: the state a new plan item starts in, the
order's state after a change to its items, and which work a revision keeps."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ordertower.domain.catalog import Request
from ordertower.domain.item_spec import ItemSpec
from ordertower.domain.lifecycle import ItemState, OrderState
from ordertower.domain.order_progress import settle
from ordertower.domain.planning import PlannedItem
from ordertower.domain.revisions import kept_work, undo_of
from ordertower.domain.stored_plan import NewPlanItem, initial_state


def planned(key: str, *, depends_on=(), system: str | None = "network", skip: str | None = None,
            spec: ItemSpec | None = None) -> PlannedItem:
    return PlannedItem(key=key, line_id=key.split("#")[0], step_id=key.split("#")[-1], name=key,
                       type="callout", system=system, ponr=False, depends_on=list(depends_on),
                       root_item_ids=["1"], spec=spec or ItemSpec(), skip_reason=skip)


# --- the state a new item starts in ----------------------------------------------------------

@pytest.mark.parametrize("skip, open_deps, offline, expected", [
    ("condition is false: install == technician", 0, set(), ItemState.SKIPPED),
    ("condition is false", 2, {"network"}, ItemState.SKIPPED),  # skipped wins over everything
    (None, 1, set(), ItemState.PENDING),
    (None, 1, {"network"}, ItemState.PENDING),  # held only once it could start
    (None, 0, {"network"}, ItemState.ON_HOLD),
    (None, 0, {"billing"}, ItemState.READY),
    (None, 0, set(), ItemState.READY),
])
def test_a_new_item_starts_skipped_pending_on_hold_or_ready(skip, open_deps, offline, expected):
    assert initial_state(planned("1/x#go", skip=skip), open_deps, offline) == expected


def test_a_new_item_counts_its_open_dependencies():
    item = NewPlanItem.start(planned("1/x#go", depends_on=["a", "b"]), id="i", revision=2,
                             position=4, open_dependencies=2, offline_systems=set())
    assert (item.state, item.pending_deps, item.revision, item.position) == \
        (ItemState.PENDING, 2, 2, 4)


# --- the order's state after a change to its items ------------------------------------------

@dataclass
class Progress:
    anything_open: bool = True
    started: bool = True
    anything_in_fallout: bool = False


@pytest.mark.parametrize("state, progress, expected", [
    ("acknowledged", Progress(started=False), []),
    ("acknowledged", Progress(), [OrderState.IN_PROGRESS]),
    ("acknowledged", Progress(anything_open=False), [OrderState.IN_PROGRESS, OrderState.COMPLETED]),
    ("inProgress", Progress(), []),
    ("inProgress", Progress(anything_open=False), [OrderState.COMPLETED]),
    ("inProgress", Progress(anything_in_fallout=True), [OrderState.HELD]),
    ("held", Progress(anything_in_fallout=True), []),
    ("held", Progress(), [OrderState.IN_PROGRESS]),
    ("held", Progress(anything_open=False), [OrderState.COMPLETED]),
    ("pendingCancellation", Progress(), []),
    ("pendingCancellation", Progress(anything_open=False), [OrderState.CANCELLED]),
    ("completed", Progress(anything_open=False), []),
    ("cancelled", Progress(), []),
])
def test_the_order_follows_its_plan(state, progress, expected):
    assert [s.to for s in settle(state, progress)] == expected


def test_only_ending_steps_set_the_completion_date():
    steps = settle("acknowledged", Progress(anything_open=False))
    assert [s.final for s in steps] == [False, True]


class Counting:
    """A plan whose figures count how often they are read."""

    def __init__(self):
        self.reads: list[str] = []

    def __getattr__(self, name):
        self.reads.append(name)
        return {"anything_open": True, "started": True, "anything_in_fallout": False}[name]


def test_settling_reads_no_more_of_the_plan_than_it_needs():
    plan = Counting()
    settle("completed", plan)
    assert plan.reads == []
    settle("inProgress", plan)
    assert "started" not in plan.reads  # only an acknowledged order asks whether work began


# --- which work a revision keeps ---------------------------------------------------------------

def row(key: str, state: str, *, line: str | None = None, roots=("1",), spec: ItemSpec | None = None,
        id: str | None = None) -> dict:
    return {"id": id or f"id-{key}", "key": key, "state": state,
            "line_id": line if line is not None else key.split("#")[0],
            "root_item_ids": list(roots), "spec": spec or ItemSpec()}


def test_unchanged_work_is_carried_and_changed_work_stops():
    current = [row("1/a#ship", "completed"), row("2/b#activate", "running")]
    plan = {"1/a#ship": planned("1/a#ship"), "2/b#activate": planned("2/b#activate")}

    kept = kept_work(current, plan, affected_lines={"2/b"}, touched_roots={"2"})

    assert set(kept.carried) == {"1/a#ship"}
    assert [r["key"] for r in kept.stopping] == ["2/b#activate"]
    assert kept.fresh == {"2/b#activate"}


def test_work_the_new_plan_no_longer_has_stops():
    kept = kept_work([row("1/a#ship", "ready")], {}, affected_lines=set(), touched_roots=set())
    assert [r["key"] for r in kept.stopping] == ["1/a#ship"] and kept.fresh == set()


def test_completed_work_whose_strategy_is_ignore_stays_done():
    ignore = ItemSpec(compensate="ignore")
    kept = kept_work([row("1/a#ship", "completed", spec=ignore)], {"1/a#ship": planned("1/a#ship")},
                     affected_lines={"1/a"}, touched_roots={"1"})
    assert set(kept.carried) == {"1/a#ship"} and kept.stopping == [] and kept.fresh == set()


def test_unstarted_work_waiting_on_new_work_is_planned_afresh_and_so_on_down_the_chain():
    current = [row("1/a#ship", "completed"), row("1/b#activate", "pending"),
               row("1/c#bill", "pending")]
    plan = {"1/a#ship": planned("1/a#ship"),
            "1/b#activate": planned("1/b#activate", depends_on=["1/a#ship"]),
            "1/c#bill": planned("1/c#bill", depends_on=["1/b#activate"])}

    kept = kept_work(current, plan, affected_lines={"1/a"}, touched_roots=set())

    assert kept.carried == {}
    assert kept.fresh == {"1/a#ship", "1/b#activate", "1/c#bill"}


def test_started_work_is_carried_even_when_what_it_waited_for_is_redone():
    current = [row("1/a#ship", "completed"), row("1/b#activate", "running")]
    plan = {"1/a#ship": planned("1/a#ship"),
            "1/b#activate": planned("1/b#activate", depends_on=["1/a#ship"])}

    kept = kept_work(current, plan, affected_lines={"1/a"}, touched_roots=set())

    assert set(kept.carried) == {"1/b#activate"}


def test_undoing_and_work_already_set_aside_are_neither_kept_nor_stopped():
    current = [row("1/a#ship~undo@2", "running", spec=ItemSpec(compensates="id-x")),
               row("1/b#ship", "cancelled"), row("1/c#ship", "compensated")]
    kept = kept_work(current, {"1/b#ship": planned("1/b#ship")}, affected_lines=set(),
                     touched_roots=set())
    assert kept.carried == {} and kept.stopping == [] and kept.fresh == {"1/b#ship"}


def test_items_without_a_line_follow_their_bundle():
    assetize = row("assetize/1", "pending", line="", roots=("1",)) | {"line_id": None}
    kept = kept_work([assetize], {"assetize/1": planned("assetize/1", system=None)},
                     affected_lines=set(), touched_roots={"1"})
    assert [r["key"] for r in kept.stopping] == ["assetize/1"]


# --- how withdrawn work is undone --------------------------------------------------------------

CANCEL_SHIPMENT = Request(method="POST", path="/shipments/cancel")


def shipped(revision: int, *, id: str, spec: ItemSpec | None = None) -> dict:
    """The phone's shipment as done in ``revision`` (a stored plan item)."""
    return row("1/device-shipment#ship", "completed", id=id,
               spec=spec or ItemSpec(compensation=CANCEL_SHIPMENT)) | {
        "revision": revision, "step_id": "ship", "name": "Ship the device", "system": "warehouse"}


def test_each_shipment_is_undone_by_an_item_named_after_the_revision_of_its_work():
    # revision 2 (an amendment) undid the shipment of revision 1 and shipped again; the
    # cancellation, planned in revision 2 too, undoes that second shipment: two undoings
    first, second = shipped(1, id="ship-r1"), shipped(2, id="ship-r2")

    by_amendment, by_cancellation = undo_of(first, []), undo_of(second, [])

    assert by_amendment.key == "1/device-shipment#ship~undo@1"
    assert by_cancellation.key == "1/device-shipment#ship~undo@2"
    assert (by_amendment.spec.compensates, by_cancellation.spec.compensates) == ("ship-r1", "ship-r2")
    assert (by_amendment.spec.line_revision, by_cancellation.spec.line_revision) == (1, 2)
    assert by_cancellation.type == "callout" and by_cancellation.system == "warehouse"
    assert by_cancellation.spec.request == CANCEL_SHIPMENT and by_cancellation.spec.compensate == "ignore"


def test_work_undone_by_hand_is_a_task_in_its_compensation_queue():
    work = shipped(1, id="ship-r1", spec=ItemSpec(compensate="manual", compensation_queue="returns"))

    undo = undo_of(work, depends_on=["1/sim-card#ship~undo@1"])

    assert undo.type == "manual" and undo.system is None and undo.spec.queue == "returns"
    assert undo.depends_on == ["1/sim-card#ship~undo@1"] and undo.name == "Undo: Ship the device"
