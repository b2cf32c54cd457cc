"""``ordertower queues list|add|remove`` and ``ordertower users list|me``: work queue
membership and users from the command line (a client of ``/api/v1/queues`` and
``/api/v1/users``). A member added can claim the queue's tasks at once, on every node."""

from __future__ import annotations

from typing import Optional

import typer
from rich.text import Text

from .cli_http import JSON, KEY, URL, Api, console, print_listing

queues_app = typer.Typer(help="Work queues and their members.", no_args_is_help=True)
users_app = typer.Typer(help="Users: the names of API keys, with role and queues.", no_args_is_help=True)


@queues_app.command("list")
def list_queues(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Every work queue and its members."""
    print_listing(url, key, "/api/v1/queues", as_json, "queue", ("queue", "members"),
                  lambda q: (q["id"], ", ".join(m["user"] for m in q["members"]) or "(none)"))


@queues_app.command("add")
def add(queue: str = typer.Argument(..., help="The work queue."),
        user: str = typer.Argument(..., help="The user (an API key's name)."),
        url: str = URL, key: Optional[str] = KEY) -> None:
    """Add a user to a queue (operator)."""
    with Api(url, key) as api:
        api.post(f"/api/v1/queues/{queue}/members", json={"user": user})
    console.print(Text(f"{user} is a member of {queue}"))


@queues_app.command("remove")
def remove(queue: str = typer.Argument(..., help="The work queue."),
           user: str = typer.Argument(..., help="The member to remove."),
           url: str = URL, key: Optional[str] = KEY) -> None:
    """Remove a user from a queue (operator). Tasks they hold stay theirs until released."""
    with Api(url, key) as api:
        api.json("DELETE", f"/api/v1/queues/{queue}/members/{user}")
    console.print(Text(f"{user} is no longer a member of {queue}"))


@users_app.command("list")
def list_users(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Every user, with role and queues (operator)."""
    print_listing(url, key, "/api/v1/users", as_json, "user", ("name", "role", "queues"),
                  lambda u: (u["name"], u["role"], ", ".join(u["queues"])))


@users_app.command("me")
def me(url: str = URL, key: Optional[str] = KEY) -> None:
    """Who your key is: name, role, queues."""
    with Api(url, key) as api:
        user = api.get("/api/v1/users/me")
    console.print(Text(f"{user['name']} ({user['role']}); queues: {', '.join(user['queues']) or '(none)'}"))
