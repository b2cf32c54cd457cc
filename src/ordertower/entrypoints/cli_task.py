"""``ordertower task list|claim|complete|release|reassign|due``: manual work from the command
line. Who claims and completes is the user of the key (``--key`` or ``ORDERTOWER_API_KEY``)."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli_http import JSON, KEY, URL, Api, console, fail, print_json

task_app = typer.Typer(help="Work manual tasks (work queues), as the user of your key.", no_args_is_help=True)
REASON = typer.Option(None, help="Why (a note on the task, and the audit log).")


def _call(url: str, key: Optional[str], method: str, path: str, **kwargs) -> dict | list:
    with Api(url, key) as api:
        return api.json(method, path, **kwargs)


@task_app.command("list")
def list_tasks(queue: Optional[str] = typer.Option(None, help="Only this queue."),
               state: Optional[str] = typer.Option("open", help="open, claimed, completed..."),
               assignee: Optional[str] = typer.Option(None, help="Only this person's."),
               as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """List tasks."""
    params = {k: v for k, v in {"queue": queue, "state": state, "assignee": assignee}.items() if v}
    tasks = _call(url, key, "GET", "/api/v1/tasks", params=params)
    if as_json:
        print_json(tasks)
        return
    table = Table(title=f"{len(tasks)} task(s)", title_justify="left")
    for col in ("id", "name", "queue", "state", "assignee", "due", "order"):
        table.add_column(col, overflow="fold")
    for t in tasks:
        due = (t.get("due_at") or "") + (" (overdue)" if t.get("overdue") else "")
        table.add_row(*(Text(v or "") for v in (t["id"], t["name"], t["queue"], t["state"],
                                                  t["assignee"], due, t["order"])))
    console.print(table)


@task_app.command("claim")
def claim(task_id: str, url: str = URL, key: Optional[str] = KEY) -> None:
    """Claim a task (as the user of your key; you must belong to its queue, or be an operator)."""
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/claim")
    console.print(Text(f"task {task['id']} claimed by {task['assignee']}"))


@task_app.command("complete")
def complete(task_id: str, output: Optional[str] = typer.Option(None, help="Output data, a JSON object."),
             url: str = URL, key: Optional[str] = KEY) -> None:
    """Complete a task you hold, with output data for the plan."""
    data = None
    if output:
        try:
            data = json.loads(output)
        except ValueError as exc:
            fail(f"--output is not JSON: {exc}")
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/complete", json={"output": data})
    console.print(Text(f"task {task['id']} completed by {task['completed_by']}"))


@task_app.command("release")
def release(task_id: str, reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Give a task you hold back to its queue (an operator may release anyone's)."""
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/release", json={"reason": reason} if reason else {})
    console.print(Text(f"task {task['id']} released: open in queue {task['queue']}"))


@task_app.command("reassign")
def reassign(task_id: str, user: str = typer.Option(..., "--to", help="The user who takes it over."),
             reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Give a task to another user (operator)."""
    body = {"user": user} | ({"reason": reason} if reason else {})
    task = _call(url, key, "POST", f"/api/v1/tasks/{task_id}/reassign", json=body)
    console.print(Text(f"task {task['id']} reassigned to {task['assignee']}"))


@task_app.command("due")
def due(task_id: str, at: Optional[str] = typer.Argument(None, help="An ISO 8601 date-time; none clears it."),
        url: str = URL, key: Optional[str] = KEY) -> None:
    """Set a task's due time (operator)."""
    task = _call(url, key, "PUT", f"/api/v1/tasks/{task_id}/due", json={"due_at": at})
    console.print(Text(f"task {task['id']} due {task['due_at'] or '(no due time)'}"))
