"""``ordertower order submit FILE [--watch]``: submit a TMF622 order and follow its plan."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..domain.lifecycle import FINAL_ORDER_STATES

order_app = typer.Typer(help="Submit and follow orders.", no_args_is_help=True)
console = Console()
STATE_STYLE = {"completed": "green", "running": "cyan", "waiting": "cyan", "retrying": "yellow",
               "fallout": "bold red", "ready": "white", "pending": "dim", "skipped": "dim",
               "cancelled": "dim"}


def _client(url: str, key: Optional[str]) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30)


def plan_table(order_id: str, state: str, items: list[dict]) -> Table:
    table = Table(title=f"order {order_id}: {state}", title_justify="left")
    for col in ("item", "type", "system", "state", "attempts", "ponr", "last error"):
        table.add_column(col)
    for item in items:
        style = STATE_STYLE.get(item["state"], "")
        table.add_row(item["name"], item["type"], item["system"] or "",
                      f"[{style}]{item['state']}[/{style}]" if style else item["state"],
                      str(item["attempts"]), "yes" if item["ponr"] else "",
                      (item.get("last_error") or "")[:60])
    return table


@order_app.command("submit")
def submit(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A TMF622 productOrder JSON."),
    watch: bool = typer.Option(False, "--watch", help="Follow the plan until the order ends."),
    url: str = typer.Option("http://127.0.0.1:8080", envvar="ORDERTOWER_URL", help="The server."),
    key: Optional[str] = typer.Option(None, envvar="ORDERTOWER_API_KEY", help="API key."),
    timeout: float = typer.Option(600, help="Stop watching after this many seconds."),
) -> None:
    """Submit an order; with --watch, show a live table of its plan until it ends."""
    try:
        body = json.loads(file.read_text())
    except ValueError as exc:
        console.print(f"[red]{file} is not JSON:[/red] {exc}")
        raise typer.Exit(1)
    with _client(url, key) as client:
        try:
            resp = client.post("/tmf-api/productOrderingManagement/v4/productOrder", json=body)
        except httpx.HTTPError as exc:
            console.print(f"[red]Cannot reach {url}:[/red] {exc}")
            raise typer.Exit(1)
        if resp.status_code != 201:
            problem = resp.json() if resp.headers.get("content-type", "").endswith("json") else {}
            console.print(f"[red]Refused ({resp.status_code}):[/red] {problem.get('detail', resp.text)}")
            for err in problem.get("errors", []):
                console.print(f"  {err.get('field')}: {err.get('message')}", highlight=False)
            raise typer.Exit(1)
        order = resp.json()
        console.print(f"order [bold]{order['id']}[/bold] {order['state']}", highlight=False)
        if not watch:
            return
        deadline = time.monotonic() + timeout
        state = order["state"]
        with Live(console=console, refresh_per_second=4) as live:
            while True:
                plan = client.get(f"/api/v1/orders/{order['id']}/plan").json()
                state = plan["state"]
                live.update(plan_table(order["id"], state, plan["items"]))
                if state in FINAL_ORDER_STATES or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        console.line()  # the live table may leave the cursor at the end of its last line
        console.print(f"order {order['id']} [bold]{state}[/bold]", highlight=False)
        if state != "completed":
            raise typer.Exit(1 if state in FINAL_ORDER_STATES else 3)
