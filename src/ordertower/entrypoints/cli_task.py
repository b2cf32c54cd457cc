"""``ordertower task list|claim|complete``: manual work from the command line."""

from __future__ import annotations

import json
from typing import Optional

import httpx
import typer
from rich.console import Console
from rich.table import Table

task_app = typer.Typer(help="Work manual tasks (work queues).", no_args_is_help=True)
console = Console()
URL = typer.Option("http://127.0.0.1:8080", envvar="ORDERTOWER_URL", help="The server.")
KEY = typer.Option(None, envvar="ORDERTOWER_API_KEY", help="API key.")


def _call(url: str, key: Optional[str], method: str, path: str, **kwargs) -> dict | list:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        resp = httpx.request(method, url.rstrip("/") + path, headers=headers, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        console.print(f"[red]Cannot reach {url}:[/red] {exc}")
        raise typer.Exit(1)
    body = resp.json() if resp.content else {}
    if resp.status_code >= 400:
        console.print(f"[red]Refused ({resp.status_code}):[/red] {body.get('detail', resp.text)}",
                      highlight=False)
        for err in body.get("errors", []):
            console.print(f"  {err.get('field')}: {err.get('message')}", highlight=False)
        raise typer.Exit(1)
    return body


@task_app.command("list")
def list_tasks(queue: Optional[str] = typer.Option(None, help="Only this queue."),
               state: Optional[str] = typer.Option("open", help="open, claimed, completed..."),
               assignee: Optional[str] = typer.Option(None, help="Only this person's."),
               url: str = URL, key: Optional[str] = KEY) -> None:
    """List tasks."""
    params = {k: v for k, v in {"queue": queue, "state": state, "assignee": assignee}.items() if v}
    tasks = _call(url, key, "GET", "/api/v1/tasks", params=params)
    table = Table(title=f"{len(tasks)} task(s)", title_justify="left")
    for col in ("id", "name", "queue", "state", "assignee", "order"):
        table.add_column(col, overflow="fold")
    for t in tasks:
        table.add_row(t["id"], t["name"], t["queue"], t["state"], t["assignee"] or "", t["order"])
    console.print(table)


@task_app.command("claim")
def claim(task_id: str, assignee: str = typer.Option(..., "--as", help="Who claims it."),
          url: str = URL, key: Optional[str] = KEY) -> None:
    """Claim a task."""
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/claim", json={"assignee": assignee})
    console.print(f"task {task['id']} claimed by {task['assignee']}", highlight=False)


@task_app.command("complete")
def complete(task_id: str, by: str = typer.Option(..., "--as", help="Who completes it."),
             output: Optional[str] = typer.Option(None, help="Output data, a JSON object."),
             url: str = URL, key: Optional[str] = KEY) -> None:
    """Complete a task, with output data for the plan."""
    data = None
    if output:
        try:
            data = json.loads(output)
        except ValueError as exc:
            console.print(f"[red]--output is not JSON:[/red] {exc}")
            raise typer.Exit(1)
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/complete", json={"by": by, "output": data})
    console.print(f"task {task['id']} completed by {task['completed_by']}", highlight=False)
