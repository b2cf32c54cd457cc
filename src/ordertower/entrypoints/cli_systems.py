"""``ordertower systems list|offline|online``: fulfillment systems from the command line (a
client of ``/api/v1/systems``). Offline holds every callout to the system (its items go
``onHold``; no attempt is spent); online releases them."""

from __future__ import annotations

from typing import Any, Optional

import typer
from rich.text import Text

from .cli_http import JSON, KEY, URL, Api, console, print_listing, short_time

systems_app = typer.Typer(help="Fulfillment systems: their state; take one offline or online.",
                          no_args_is_help=True)
REASON = typer.Option(None, help="Why (recorded in the audit trail).")


def _items(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)


def _state(system: dict[str, Any]) -> Text:
    """Offline by hand, held by its open (or half-open) circuit breaker, or online."""
    breaker = (system.get("breaker") or {}).get("state", "closed")
    if system["offline"]:
        return Text("offline", style="bold yellow")
    if breaker != "closed":
        return Text(f"breaker {breaker}", style="bold red")
    return Text("online", style="green")


@systems_app.command("list")
def list_systems(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Every fulfillment system: online, offline, or held by its circuit breaker, and its
    items by state."""
    print_listing(url, key, "/api/v1/systems", as_json, "system",
                  ("system", "state", "items", "changed", "reason"),
                  lambda s: (s["id"], _state(s), _items(s.get("items") or {}), _changed(s), s.get("reason") or ""))


def _changed(system: dict[str, Any]) -> str:
    return " ".join(x for x in (short_time(system.get("changed_at")), system.get("changed_by") or "") if x)


def _set(name: str, offline: bool, reason: Optional[str], url: str, key: Optional[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"offline": offline}
    if reason:
        body["reason"] = reason
    with Api(url, key) as api:
        return api.put(f"/api/v1/systems/{name}", json=body)


@systems_app.command("offline")
def offline(name: str = typer.Argument(..., help="The system's id (see `systems list`)."),
            reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Take a system offline: its callouts are held (onHold) until it is online again."""
    system = _set(name, True, reason, url, key)
    held = (system.get("items") or {}).get("onHold", 0)
    console.print(Text(f"system {system['id']} is offline; {held} item(s) on hold."))


@systems_app.command("online")
def online(name: str = typer.Argument(..., help="The system's id (see `systems list`)."),
           reason: Optional[str] = REASON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Bring a system online again: its held items run."""
    system = _set(name, False, reason, url, key)
    counts = _items(system.get("items") or {})
    console.print(Text(f"system {system['id']} is online" + (f"; items: {counts}." if counts else ".")))
