"""Mermaid text for the order page: the plan as a flowchart coloured by state (the point of no
return marked; drawn by domain/plan_diagrams.py) and the Gantt of planned versus actual times
(the critical path marked). Mermaid lays the diagrams out in the browser; this only writes
their source."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from ...domain.plan_diagrams import DiagramNode, mermaid_flowchart, mermaid_text, plan_edges
from ...domain.schedule import Scheduled

# fill, stroke, text per item state (the same colours as the badges in console.css)
STATE_STYLES = {
    "pending": ("#f3f4f6", "#9aa1ac", "#3b4250"), "ready": ("#eef4ff", "#7fa6e0", "#1f3f73"),
    "running": ("#dbe8fd", "#1f5fbf", "#123a7a"), "waiting": ("#dbe8fd", "#1f5fbf", "#123a7a"),
    "retrying": ("#fff1d6", "#b26a00", "#6b4000"), "fallout": ("#fde3e3", "#c62828", "#7a1414"),
    "onHold": ("#ece6f8", "#6a4fb3", "#3e2c73"), "completed": ("#e3f3e4", "#2e7d32", "#1b4d1e"),
    "skipped": ("#eeeeee", "#8a8a8a", "#4a4a4a"), "cancelled": ("#f5e6e6", "#a05252", "#5e2a2a"),
    "compensating": ("#fff1d6", "#b26a00", "#6b4000"), "compensated": ("#eeeeee", "#6b6b6b", "#3a3a3a"),
}


def state_class(state: str) -> str:
    return "s_" + state if state in STATE_STYLES else "s_other"


CLASS_DEFS = {state_class(state): f"fill:{fill},stroke:{stroke},color:{color}"
              for state, (fill, stroke, color) in STATE_STYLES.items()} | {
    "s_other": "fill:#ffffff,stroke:#999999"}


def flowchart(items: Iterable[dict[str, Any]]) -> str:
    """``items``: ``key``, ``name``, ``state``, ``ponr``, ``system``, ``depends_on`` (keys).
    One node per item, ``n<position>``; a point-of-no-return item is a double-bordered box
    whose label starts with ``PONR``."""
    items = list(items)
    nodes = [DiagramNode(i["key"], f"{'PONR · ' if i['ponr'] else ''}{_one_line(i['name'])}\n"
                         f"{i['state']}" + (f" · {i['system']}" if i.get("system") else ""),
                         ponr=bool(i["ponr"]), css_class=state_class(i["state"])) for i in items]
    return mermaid_flowchart(nodes, plan_edges(items), CLASS_DEFS)


def _one_line(text: str) -> str:
    return str(text).replace("\n", " ")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def gantt(rows: list[Scheduled]) -> str:
    """Two sections: the plan (one bar per item, ``p<n>``, critical ones marked ``crit``) and
    what ran (one bar per started item, ``a<n>``)."""
    lines = ["gantt", "  dateFormat x", "  axisFormat %d %b %H:%M", "  todayMarker off",
             "  section Planned"]
    for n, r in enumerate(rows):
        tags = ["crit"] if r.critical else []
        lines.append(f"  {_task(r.item['name'])} :{', '.join(tags + [f'p{n}'])}, "
                     f"{_ms(r.planned_start)}, {max(_ms(r.planned_end), _ms(r.planned_start) + 1)}")
    started = [(n, r) for n, r in enumerate(rows) if r.actual_start is not None]
    if started:
        lines.append("  section Actual")
        for n, r in started:
            tags = ["active"] if r.item["state"] in ("running", "waiting", "retrying") else \
                (["crit"] if r.item["state"] == "fallout" else ["done"])
            end = max(_ms(r.actual_end or r.actual_start), _ms(r.actual_start) + 1)
            lines.append(f"  {_task(r.item['name'])} :{', '.join(tags + [f'a{n}'])}, "
                         f"{_ms(r.actual_start)}, {end}")
    return "\n".join(lines)


def _task(name: str) -> str:
    return mermaid_text(name).replace(":", " ").replace(",", " ") or "item"
