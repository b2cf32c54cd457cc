"""``ordertower fallout list|retry|skip``: the fallout queue from the command line (a client
of ``/api/v1/fallout`` and ``/api/v1/plan-items/{id}/retry|skip``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from .cli_http import JSON, KEY, URL, Api, console, folding_table, print_json, read_json_file, short_time

fallout_app = typer.Typer(help="The fallout queue: items that failed beyond their retries.",
                          no_args_is_help=True)
REASON = typer.Option(None, help="Why (recorded in the audit trail).")


@fallout_app.command("list")
def list_fallout(system: Optional[str] = typer.Option(None, help="Only items calling this system."),
                 order: Optional[str] = typer.Option(None, help="Only this order's items."),
                 as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Items in fallout, each with its order, system, attempts and last error."""
    params = {k: v for k, v in {"system": system, "order": order}.items() if v}
    with Api(url, key) as api:
        queue = api.get("/api/v1/fallout", params=params)
    if as_json:
        print_json(queue)
        return
    items = queue["items"]
    if not items:
        console.print("No items in fallout.")
        return
    wide = console.width >= 100
    table = folding_table(f"{len(items)} item(s) in fallout", "item id", "order", "item",
                          "system", "tries", "since" if wide else None, "error")
    for i in items:
        table.add_row(Text(i["id"]), Text(i["order"]), Text(i["name"]), Text(i["system"] or ""),
                      str(i["attempts"]), *([short_time(i.get("since"))] if wide else []),
                      Text(i.get("error") or "", style="red"))
    console.print(table)
    console.print("Act with `ordertower fallout retry ITEM_ID [--request-json FILE]` or "
                  "`ordertower fallout skip ITEM_ID`.")


def _done(result: dict[str, Any], what: str) -> None:
    line = f"{what} of item {result['item']} (order {result['order']}) by {result['actor']}"
    if result.get("repeated"):
        line += ": already done, nothing more changed"
    console.print(Text(line))
    console.print(f"Follow the order with `ordertower order watch {result['order']}`.")


@fallout_app.command("retry")
def retry(item_id: str = typer.Argument(..., help="The plan item's id (see `fallout list`)."),
          request_json: Optional[Path] = typer.Option(
              None, "--request-json", dir_okay=False,
              help="A JSON file ('-': standard input) with the edited request body to send "
                   "instead of the one that failed."),
          reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Run an item in fallout again (optionally with an edited request body)."""
    body: dict[str, Any] = {"reason": reason} if reason else {}
    if request_json is not None:
        body["request"] = {"body": read_json_file(request_json, "request file")}
    with Api(url, key) as api:
        result = api.post(f"/api/v1/plan-items/{item_id}/retry", json=body)
    _done(result, "retry" + (" with an edited request" if request_json is not None else ""))


@fallout_app.command("skip")
def skip(item_id: str = typer.Argument(..., help="The plan item's id (see `fallout list`)."),
         reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Skip an item in fallout: its successors go on without it."""
    with Api(url, key) as api:
        result = api.post(f"/api/v1/plan-items/{item_id}/skip", json={"reason": reason} if reason else {})
    _done(result, "skip")
