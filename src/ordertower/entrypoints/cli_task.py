"""``ordertower task list|claim|complete``: manual work from the command line."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli_http import KEY, URL, Api, console, fail

task_app = typer.Typer(help="Work manual tasks (work queues).", no_args_is_help=True)


def _call(url: str, key: Optional[str], method: str, path: str, **kwargs) -> dict | list:
    with Api(url, key) as api:
        return api.json(method, path, **kwargs)


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
        table.add_row(*(Text(v or "") for v in (t["id"], t["name"], t["queue"], t["state"],
                                                  t["assignee"], t["order"])))
    console.print(table)


@task_app.command("claim")
def claim(task_id: str, assignee: str = typer.Option(..., "--as", help="Who claims it."),
          url: str = URL, key: Optional[str] = KEY) -> None:
    """Claim a task."""
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/claim", json={"assignee": assignee})
    console.print(Text(f"task {task['id']} claimed by {task['assignee']}"))


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
            fail(f"--output is not JSON: {exc}")
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/complete", json={"by": by, "output": data})
    console.print(Text(f"task {task['id']} completed by {task['completed_by']}"))
