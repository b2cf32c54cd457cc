"""``ordertower keys create|list|revoke``: API keys from the command line, a client of
``/api/v1/keys`` (an admin key: ``--key`` or ``ORDERTOWER_API_KEY``). There is no offline
mode on purpose: with no server running, start one with ``ORDERTOWER_BOOTSTRAP_KEY`` (or
read the one-time key of the first start) and use that; keys are never written around the API
and its audit."""

from __future__ import annotations

from typing import Optional

import typer
from rich.text import Text

from ..domain.roles import ROLES
from .cli_http import JSON, KEY, URL, Api, console, fail, print_json, print_listing, short_time

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def create(name: str = typer.Argument(..., help="Who uses the key (the actor in the audit log)."),
           role: str = typer.Option(..., "--role", help=f"One of: {', '.join(ROLES)}."),
           queues: Optional[list[str]] = typer.Option(None, "--queue",
                                                      help="A work queue the user belongs to (repeat for more)."),
           as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Create a key (its user's); it is printed once, never shown again."""
    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}", 2)
    body: dict = {"name": name, "role": role}
    if queues:
        body["queues"] = queues
    with Api(url, key) as api:
        created = api.post("/api/v1/keys", json=body)
    if as_json:
        print_json(created)
        return
    queued = f"; queues {', '.join(created['queues'])}" if created.get("queues") else ""
    console.print(Text(f"key {created['id']} '{created['name']}' ({created['role']}{queued}); "
                       "shown once, keep it:"))
    typer.echo(created["key"])


@keys_app.command("list")
def list_keys(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Every key (never the key itself): id, name, role, created, revoked."""
    print_listing(url, key, "/api/v1/keys", as_json, "key", ("id", "name", "role", "created", "revoked"),
                  lambda k: (k["id"], k["name"], k["role"], short_time(k.get("created_at")),
                             short_time(k.get("revoked_at"))))


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's id (see `keys list`)."),
           url: str = URL, key: Optional[str] = KEY) -> None:
    """Revoke a key: refused from its next request on, on every node."""
    with Api(url, key) as api:
        revoked = api.json("DELETE", f"/api/v1/keys/{key_id}")
    console.print(Text(f"key {revoked['id']} '{revoked['name']}' revoked."))
