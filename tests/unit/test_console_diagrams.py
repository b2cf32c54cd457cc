"""The Mermaid text of the order page, and the schedule (planned, actual, critical path)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ordertower.domain.schedule import schedule
from ordertower.entrypoints.console.diagrams import flowchart, gantt

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)


def item(key, name, state="pending", deps=(), ponr=False, expected=None, started=None, finished=None):
    return {"key": key, "name": name, "state": state, "depends_on": list(deps), "ponr": ponr,
            "system": "network", "expected_duration_s": expected,
            "started_at": T0 + timedelta(seconds=started) if started is not None else None,
            "finished_at": T0 + timedelta(seconds=finished) if finished is not None else None}


PLAN = [item("ship", "Ship the SIM", "completed", expected=10, started=0, finished=3),
        item("account", "Open the account", "completed", expected=2, started=0, finished=1),
        item("activate", 'Activate "the" line <b>#1</b>; now', "fallout", ["ship"], True, 5, started=3, finished=4),
        item("bill", "Start billing", "pending", ["activate", "account"], expected=1)]


def test_the_flowchart_has_one_node_per_item_coloured_by_state_and_marks_the_ponr():
    text = flowchart(PLAN)
    nodes = re.findall(r"^  (n\d+)\[", text, re.M)
    assert nodes == ["n0", "n1", "n2", "n3"]
    assert "  class n2 s_fallout" in text and "  class n0 s_completed" in text
    assert '  n2[["PONR · ' in text and "  style n2 stroke-width:4px" in text
    assert re.findall(r"^  (n\d) --> (n\d)$", text, re.M) == [("n0", "n2"), ("n2", "n3"), ("n1", "n3")]
    label = text.split("n2[[", 1)[1].split("]]", 1)[0]
    assert '"' not in label.strip('"') and "<b>" not in label and ";" not in label and "#" not in label


def test_the_schedule_plans_each_item_after_its_dependencies_and_finds_the_critical_path():
    rows = {r.item["key"]: r for r in schedule(PLAN, T0, now=T0 + timedelta(seconds=60))}
    assert rows["activate"].planned_start == T0 + timedelta(seconds=10)
    assert rows["bill"].planned_start == T0 + timedelta(seconds=15)
    assert rows["bill"].planned_end == T0 + timedelta(seconds=16)
    assert {k for k, r in rows.items() if r.critical} == {"ship", "activate", "bill"}
    assert rows["activate"].actual_end == T0 + timedelta(seconds=4)
    assert rows["bill"].actual_start is None


def test_the_gantt_has_a_planned_bar_per_item_and_an_actual_bar_per_started_item():
    text = gantt(schedule(PLAN, T0, now=T0 + timedelta(seconds=60)))
    planned = re.findall(r":(?:crit, )?(p\d), (\d+), (\d+)$", text, re.M)
    actual = re.findall(r":\w+, (a\d), (\d+), (\d+)$", text, re.M)
    assert [p[0] for p in planned] == ["p0", "p1", "p2", "p3"]
    assert [a[0] for a in actual] == ["a0", "a1", "a2"]
    assert re.search(r":crit, p0,", text) and not re.search(r":crit, p1,", text)
    assert ":crit, a2," in text  # the item in fallout
