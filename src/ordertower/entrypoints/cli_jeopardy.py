"""``ordertower jeopardy list|levels``: the jeopardy queue and the service levels from the
command line (a client of ``/api/v1/jeopardy`` and ``/api/v1/service-levels``)."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer
from rich.text import Text

from .cli_http import JSON, KEY, URL, Api, console, folding_table, print_json, short_time

jeopardy_app = typer.Typer(help="Orders in jeopardy, and the service levels they are judged by.",
                           no_args_is_help=True)
STYLE = {"RED": "bold red", "YELLOW": "yellow"}


class Level(str, Enum):
    YELLOW = "YELLOW"
    RED = "RED"


def _seconds(value: Optional[float]) -> str:
    """3804.0 -> '1h3m24s' (as a catalog writes durations)."""
    if value is None:
        return ""
    if value < 1:
        return f"{round(value * 1000)}ms"
    whole, out = round(value), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            out += f"{whole // size}{unit}"
            whole %= size
    return out


@jeopardy_app.command("list")
def list_jeopardy(level: Optional[Level] = typer.Option(None, help="Only orders at this level."),
                  limit: int = typer.Option(100, min=1, max=1000, help="At most this many."),
                  offset: int = typer.Option(0, min=0, help="Skip this many."),
                  as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Open orders in jeopardy, RED first then the earliest due, with their late items."""
    params = {"limit": limit, "offset": offset, **({"level": level.value} if level else {})}
    with Api(url, key) as api:
        page = api.get("/api/v1/jeopardy", params=params)
    if as_json:
        print_json(page)
        return
    if not page["orders"]:
        console.print("No order in jeopardy.")
        return
    shown = f"{offset + 1}-{offset + page['count']} of {page['total']}"
    table = folding_table(f"Orders in jeopardy ({shown})", "order", "level", "state", "due",
                          "projected", "late items")
    for o in page["orders"]:
        late = ", ".join(f"{i['name']} ({i['jeopardy']})" for i in o["items"])
        table.add_row(Text(o["order"]), Text(o["jeopardy"], style=STYLE.get(o["jeopardy"], "")),
                      Text(o["state"]), short_time(o.get("due")),
                      short_time(o.get("projected_completion")), Text(late))
    console.print(table)
    console.print("Look closer with `ordertower order get ORDER_ID`.")


@jeopardy_app.command("levels")
def levels(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """The service levels: lead times, and each scenario item's configured and learned
    expected duration (the configured one wins)."""
    with Api(url, key) as api:
        found = api.get("/api/v1/service-levels")
    if as_json:
        print_json(found)
        return
    if found["products"]:
        leads = folding_table("Lead times", "product", "kind", "lead time")
        for p in found["products"]:
            leads.add_row(Text(p["id"]), p["kind"], _seconds(p["lead_time_s"]))
        console.print(leads)
    table = folding_table(f"Expected durations (learned: p{found['percentile']} after "
                          f"{found['learn_after']} completions)", "product", "action", "item",
                          "system", "configured", "learned", "completions", "used")
    for i in found["items"]:
        table.add_row(Text(i["product"]), i["action"], Text(i["item"]), Text(i["system"] or ""),
                      _seconds(i["configured_s"]), _seconds(i["learned_s"]),
                      str(i["completions"] or ""), i["source"] or "")
    console.print(table)
