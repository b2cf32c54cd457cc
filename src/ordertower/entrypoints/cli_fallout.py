"""``ordertower fallout list|retry|skip|complete|assign|rules``: the fallout queue from the command line (a client
of ``/api/v1/fallout`` and ``/api/v1/plan-items/{id}/retry|skip``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from .cli_http import JSON, KEY, URL, Api, console, folding_table, print_json, print_listing, read_json_file, short_time

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
                          "system", "tries", "since" if wide else None, "assigned", "error")
    for i in items:
        to = i.get("assigned") or {}
        table.add_row(Text(i["id"]), Text(i["order"]), Text(i["name"]), Text(i["system"] or ""),
                      str(i["attempts"]), *([short_time(i.get("since"))] if wide else []),
                      Text(to.get("user") or (f"queue {to['queue']}" if to.get("queue") else "")),
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


def _target(user: Optional[str], queue: Optional[str]) -> dict[str, str]:
    if bool(user) == bool(queue):
        raise typer.BadParameter("name exactly one of --user and --queue")
    return {"user": user} if user else {"queue": queue}  # type: ignore[dict-item]


@fallout_app.command("assign")
def assign(item_ids: list[str] = typer.Argument(..., help="Plan item ids (see `fallout list`)."),
           user: Optional[str] = typer.Option(None, "--user", help="Assign to this user."),
           queue: Optional[str] = typer.Option(None, "--queue", help="Assign to this work queue."),
           reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Assign items in fallout to a user or a queue (operator)."""
    body: dict[str, Any] = {"action": "assign", "items": item_ids, "to": _target(user, queue)}
    if reason:
        body["reason"] = reason
    with Api(url, key) as api:
        result = api.post("/api/v1/fallout/actions", json=body)
    for r in result["results"]:
        console.print(Text(f"item {r['item']}: " + (r["error"] if "error" in r else
                                                      f"assigned to {r['user'] or 'queue ' + r['queue']}")))


@fallout_app.command("complete")
def complete(item_ids: list[str] = typer.Argument(..., help="Plan item ids (see `fallout list`)."),
             reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Complete items in fallout by hand (the work was done outside ordertower)."""
    body: dict[str, Any] = {"action": "complete", "items": item_ids} | ({"reason": reason} if reason else {})
    with Api(url, key) as api:
        result = api.post("/api/v1/fallout/actions", json=body)
    for r in result["results"]:
        console.print(Text(f"item {r['item']}: " + (r["error"] if "error" in r else "completed")))


rules_app = typer.Typer(help="Fallout assignment rules (data, tried in order).", no_args_is_help=True)
fallout_app.add_typer(rules_app, name="rules")


@rules_app.command("list")
def list_rules(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """The rules, in the order they are tried."""
    print_listing(url, key, "/api/v1/fallout/rules", as_json, "rule",
                  ("id", "system", "error", "product", "assigns to"),
                  lambda r: (r["id"], r["system"] or "", r["error"] or "", r["product"] or "",
                             r["user"] or f"queue {r['queue']}"))


@rules_app.command("add")
def add_rule(system: Optional[str] = typer.Option(None, help="Items of this system."),
             error: Optional[str] = typer.Option(None, help="Items whose error matches this regular expression."),
             product: Optional[str] = typer.Option(None, help="Items of this technical product."),
             user: Optional[str] = typer.Option(None, "--user", help="Assign to this user."),
             queue: Optional[str] = typer.Option(None, "--queue", help="Assign to this work queue."),
             url: str = URL, key: Optional[str] = KEY) -> None:
    """Add a rule (tried after the others)."""
    body = {k: v for k, v in {"system": system, "error": error, "product": product}.items() if v}
    body |= _target(user, queue)
    with Api(url, key) as api:
        rule = api.post("/api/v1/fallout/rules", json=body)
    console.print(Text(f"rule {rule['id']} added (position {rule['position']})"))


@rules_app.command("delete")
def delete_rule(rule_id: str, url: str = URL, key: Optional[str] = KEY) -> None:
    """Delete a rule."""
    with Api(url, key) as api:
        api.json("DELETE", f"/api/v1/fallout/rules/{rule_id}")
    console.print(Text(f"rule {rule_id} deleted"))
