"""Service levels in the domain: the percentile a duration is learned as, when a scenario item
has enough history, the expected completion of a new plan, the catalog's lead times, and the
jeopardy of an order against its expected date."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ordertower.domain.catalog import Catalog
from ordertower.domain.jeopardy import GREEN, RED, YELLOW, order_jeopardy
from ordertower.domain.planning import PlannedItem
from ordertower.domain.service_levels import (StepKey, apply_learned, expected_completion, learn,
                                              lead_times, percentile, planned_rows)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
SHIP = StepKey("gadget-line", "add", "ship", "network")


def test_the_80th_percentile_interpolates_between_the_closest_ranks():
    assert percentile([60.0, 120.0, 180.0, 240.0]) == pytest.approx(204.0)
    assert percentile([float(n) for n in range(1, 101)]) == pytest.approx(80.2)
    assert percentile([7.0]) == 7.0


def test_a_duration_is_learned_only_with_enough_completions_and_from_the_newest_window():
    other = StepKey("gadget-line", "add", "ship", "billing")  # the same item on another system
    samples = [(SHIP, 10.0)] * 3 + [(SHIP, 1000.0)] * 5 + [(other, 5.0)] * 2  # newest first
    found = {item.key: item for item in learn(samples, min_completions=3, window=3)}
    assert set(found) == {SHIP}  # two completions on billing are not enough
    assert (found[SHIP].completions, found[SHIP].p80_s) == (3, 10.0)  # the newest three only
    assert learn(samples, min_completions=9) == []


def _planned(key: str, after: list[str], seconds: float | None, skip: str | None = None) -> PlannedItem:
    return PlannedItem(key=key, line_id="L1", step_id=key, name=key, type="callout",
                       system="network", ponr=False, depends_on=after, root_item_ids=["1"],
                       expected_duration_s=seconds, skip_reason=skip)


class _Line:
    id, technical_product, action = "L1", "gadget-line", "add"


def test_a_learned_duration_fills_in_only_where_none_is_configured():
    ship, configure = _planned("ship", [], None), _planned("configure", ["ship"], 3600.0)
    learned = {SHIP: learn([(SHIP, 200.0)], 1)[0],
               StepKey("gadget-line", "add", "configure", "network"): learn([(SHIP, 5.0)], 1)[0]}
    apply_learned([ship, configure], [_Line()], learned)
    assert (ship.expected_duration_s, configure.expected_duration_s) == (200.0, 3600.0)


def test_the_expected_completion_is_the_later_of_the_critical_path_and_the_longest_lead_time():
    plan = [_planned("a", [], 600.0), _planned("b", ["a"], 1200.0), _planned("c", [], 60.0),
            _planned("skipped", ["b"], 9999.0, skip="condition is false")]
    rows = planned_rows(plan)
    assert expected_completion(rows, [], T0) == T0 + timedelta(minutes=30)
    assert expected_completion(rows, [timedelta(hours=2), timedelta(hours=1)], T0) == T0 + timedelta(hours=2)
    nothing_known = planned_rows([_planned("a", [], None)])
    assert expected_completion(nothing_known, [], T0) is None
    assert expected_completion(nothing_known, [timedelta(days=1)], T0) == T0 + timedelta(days=1)


def test_lead_times_come_from_commercial_and_technical_products():
    catalog = Catalog.model_validate({
        "products": [{"id": "fiber", "lead_time": "5d"}, {"id": "gadget"}],
        "technical_products": [{"id": "fiber-line", "lead_time": "2h"}, {"id": "gadget-line"}]})
    assert sorted(lead_times(catalog, ["fiber", "gadget", None], ["fiber-line", "gadget-line"])) == [
        timedelta(hours=2), timedelta(days=5)]
    with pytest.raises(ValueError):
        Catalog.model_validate({"products": [{"id": "fiber", "lead_time": "soon"}]})


def _open(seconds: float) -> list[dict]:
    return [{"key": "a", "depends_on": [], "state": "pending", "expected_duration_s": seconds,
             "started_at": None}]


def test_against_an_expected_date_a_late_projection_is_a_warning_and_a_passed_date_is_red():
    expected = T0 + timedelta(hours=1)
    assert order_jeopardy(_open(1800), T0, None, expected)[0] == GREEN
    assert order_jeopardy(_open(7200), T0, None, expected)[0] == YELLOW
    assert order_jeopardy(_open(0), T0 + timedelta(hours=1, seconds=1), None, expected)[0] == RED
    # a requested date, when there is one, is what counts: projected past it is RED at once
    assert order_jeopardy(_open(7200), T0, T0 + timedelta(hours=1), expected)[0] == RED
    assert order_jeopardy(_open(1800), T0, T0 + timedelta(hours=3), T0)[0] == GREEN
