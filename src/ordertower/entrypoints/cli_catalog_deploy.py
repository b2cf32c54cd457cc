"""``ordertower catalog deploy|versions``: deploy a catalog to a running ordertower without a
restart, see what it would change first, list the versions and roll back. A client of
``/api/v1/catalog/versions`` (an admin key to deploy: ``--key`` / ``ORDERTOWER_API_KEY``).

    ordertower catalog deploy PATH                 # check, store as the newest version
    ordertower catalog deploy PATH --dry-run       # what it would change on the last 1,000 orders
    ordertower catalog deploy --version 3          # deploy version 3's files again (rollback)
    ordertower catalog versions                    # who deployed what when
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from ..adapters.catalog_files import CatalogLoadError
from ..adapters.catalog_texts import read_catalog_texts
from .cli_http import JSON, KEY, URL, Api, console, fail, folding_table, print_json, print_listing, short_time

DRY_RUN_TIMEOUT_S = 300.0  # a replay of 100,000 orders takes a while


def _body(path: Optional[Path], version: Optional[int]) -> dict[str, Any]:
    if (path is None) == (version is None):
        fail("Name the catalog to deploy: a PATH (file or folder), or --version N to deploy "
             "an earlier version again.", 2)
    if version is not None:
        return {"version": version}
    try:
        return {"files": read_catalog_texts(path)}
    except CatalogLoadError as exc:
        fail(str(exc), 2)


def deploy_command(
        path: Optional[Path] = typer.Argument(None, help="Catalog file or folder of .yaml files."),
        version: Optional[int] = typer.Option(None, "--version",
                                              help="Deploy this earlier version's files again "
                                                   "(a rollback) instead of PATH."),
        dry_run: bool = typer.Option(False, "--dry-run",
                                     help="Deploy nothing: replay the newest stored orders "
                                          "with this catalog and show what would differ."),
        orders: int = typer.Option(1000, "--orders", min=1,
                                   help="--dry-run: how many of the newest orders to replay."),
        as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Check a catalog and make it the one new orders use, on every node, without a restart.
    Orders in flight keep the version they were decomposed with."""
    body = _body(path, version)
    if dry_run:
        with Api(url, key, timeout=DRY_RUN_TIMEOUT_S) as api:
            report = api.post("/api/v1/catalog/versions/dry-run", json={**body, "orders": orders})
        print_json(report) if as_json else print_report(report)
        return
    with Api(url, key) as api:
        row = api.post("/api/v1/catalog/versions", json=body)
    if as_json:
        print_json(row)
        return
    console.print(Text(f"deployed catalog version {row['id']} ({row['release']})"
                       + (f", {row['note']}" if row.get("note") else "")
                       + "; new orders use it on every node within seconds.", style="green"))


def versions_command(as_json: bool = JSON, url: str = URL, key: Optional[str] = KEY) -> None:
    """Every deployed catalog version, newest first: who deployed it, when."""
    print_listing(url, key, "/api/v1/catalog/versions", as_json, "catalog version",
                  ("version", "release", "deployed by", "deployed at", "note"),
                  lambda r: (f"{r['id']}" + (" (current)" if r.get("current") else ""), r["release"],
                             r["deployed_by"], short_time(r.get("deployed_at")), r.get("note") or ""))


def print_report(report: dict[str, Any]) -> None:
    """The dry run as tables: a summary, the effect of each rule, the orders refused."""
    console.print(Text(f"{report['current']} -> {report['new']}: {report['orders_changed']} of "
                       f"{report['orders_replayed']} order(s) would change "
                       f"(replayed in {report['seconds']['replay']:g} s)."))
    if report["rules"]:
        table = folding_table("by rule", "rule", "orders", "lines added", "lines removed",
                              "lines changed", "plan items changed")
        for r in report["rules"]:
            table.add_row(Text(r["rule"]), Text(str(len(r["orders"]))), Text(str(r["lines_added"])),
                          Text(str(r["lines_removed"])), Text(str(r["lines_changed"])),
                          Text(str(r["plan_items_changed"])))
        console.print(table)
    changed = [(o["order"], line) for o in report["orders"] for line in o["lines_changed"]]
    if changed:
        table = folding_table(f"{len(changed)} line(s) changed", "order", "line", "rule",
                              "attributes (before -> after)")
        for order, line in changed[:50]:
            attrs = ", ".join(f"{n}: {a} -> {b}" for n, (a, b) in line["attributes"].items())
            table.add_row(Text(order), Text(f"{line['technical_product']} {line['line']}"),
                          Text(line["rule"]), Text(attrs or line.get("action_before", "")))
        console.print(table)
        if len(changed) > 50:
            console.print(Text(f"... and {len(changed) - 50} more (--json lists them all)."))
    if report["orders_refused"]:
        table = folding_table(f"{len(report['orders_refused'])} order(s) would be refused",
                              "order", "reason")
        for r in report["orders_refused"]:
            table.add_row(Text(r["order"]), Text(r["reason"]))
        console.print(table)
