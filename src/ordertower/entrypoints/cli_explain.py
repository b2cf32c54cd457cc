"""``ordertower catalog explain ORDER.json`` and ``ordertower catalog diff OLD NEW``.

``explain`` draws the decomposition tree of an order (which rule fired and why the others
did not, the lines made with their mapped values) and the plan it would build, as wide as the
terminal; nothing is stored. ``--format mermaid|dot`` prints the plan as a diagram's source
instead (for a pull request). With ``--database`` the customer's installed base is read (read-only) and each
line's action derived from it, as placing the order would. ``diff`` lists what a new catalog
version changes.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from ..adapters.catalog_files import CatalogLoadError, load_catalog
from ..domain.catalog_diff import diff_catalogs
from ..domain.errors import DomainError
from ..domain.plan_diagrams import DiagramNode, dot_digraph, mermaid_flowchart, plan_edges
from ..engine.steps import registered_steps

PIPED_WIDTH = 124  # the drawing's width when the output is not a terminal


class ExplainFormat(str, Enum):
    text = "text"
    mermaid = "mermaid"
    dot = "dot"


def _load(path: Optional[Path], invalid_exit: int = 1):
    try:
        return load_catalog(path, known_steps=registered_steps())
    except CatalogLoadError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(invalid_exit)


def explain_command(
    order: Path = typer.Argument(..., help="A TMF622 productOrder (JSON file)."),
    catalog: Optional[Path] = typer.Option(None, help="Catalog file or folder; default the "
                                           "reference catalog (or $ORDERTOWER_CATALOG)."),
    database: Optional[str] = typer.Option(None, help="Read the customer's installed base "
                                           "from this database (read-only) to derive MACD actions."),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
    width: Optional[int] = typer.Option(None, help="Width of the drawing; default the "
                                        f"terminal's (or {PIPED_WIDTH} when not a terminal)."),
    form: ExplainFormat = typer.Option(ExplainFormat.text, "--format", help="text: the tree "
                                       "and the plan table; mermaid or dot: the plan as a "
                                       "diagram's source (a node per item, an edge per dependency)."),
) -> None:
    """Show how an order decomposes and the plan it would get; nothing is stored."""
    import os

    from ..services.explain_order import explain_order
    from .api.problems import Problem
    from .api.tmf622 import command_from

    loaded = _load(catalog or (Path(os.environ["ORDERTOWER_CATALOG"])
                               if os.environ.get("ORDERTOWER_CATALOG") else None))
    try:
        body = json.loads(order.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"{order}: cannot read the order: {exc}", err=True)
        raise typer.Exit(2)
    store = _store(database) if database else None
    try:
        explanation = explain_order(command_from(body), loaded, store).as_dict()
    except (Problem, DomainError) as exc:
        typer.echo(f"{order}: the order is not valid:", err=True)
        for issue in exc.issues:
            typer.echo(f"  {issue.location}: {issue.message}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(explanation, indent=2, ensure_ascii=False))
        return
    if form is not ExplainFormat.text:
        if explanation["plan"]["problems"]:
            typer.echo(plan_problems(explanation), err=True)
            raise typer.Exit(1)
        typer.echo(plan_diagram(explanation, form))
        return
    console = explain_console(width)
    console.print(draw_tree(explanation), soft_wrap=False)
    console.print(plan_table(explanation))


def explain_console(width: int | None, console: Console | None = None) -> Console:
    """A console as wide as asked, else as the terminal, else PIPED_WIDTH (a file or a pipe:
    the same drawing wherever it is run)."""
    probe = console or Console(highlight=False)
    if width is None:
        width = probe.width if probe.is_terminal else PIPED_WIDTH
    return Console(width=width, highlight=False, file=probe.file, force_terminal=probe.is_terminal)


def plan_diagram(ex: dict[str, Any], form: "ExplainFormat") -> str:
    """The plan as Mermaid or DOT (domain/plan_diagrams.py): a node per plan item labelled
    with its key, name and system, an edge per dependency, the point of no return marked."""
    items = ex["plan"]["items"]
    nodes = [DiagramNode(p["key"], "\n".join(filter(None, [
        p["key"], f"{'PONR · ' if p['ponr'] else ''}{p['name']}",
        " · ".join(filter(None, [p["type"], p["system"]])),
        f"skipped: {p['skipped']}" if p.get("skipped") else None])), ponr=bool(p["ponr"]))
        for p in items]
    edges = plan_edges(items)
    if form is ExplainFormat.mermaid:
        return mermaid_flowchart(nodes, edges)
    return dot_digraph(nodes, edges, name="plan")


def _store(url: str):
    from ..bootstrap import open_store

    return open_store(url)


def _value(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def draw_tree(ex: dict[str, Any]) -> Tree:
    basis = "actions from the installed base" if ex["installed_base"] else "no installed base read"
    root = Tree(f"order of customer {ex['customer']} - catalog {ex['catalog_version']}, {basis}, "
                "nothing stored", guide_style="dim")
    for item in ex["items"]:
        _draw_item(root, item)
    return root


def _draw_item(parent: Tree, item: dict[str, Any]) -> None:
    attrs = "  ".join(f"{k}={_value(v)}" for k, v in item["attributes"].items())
    asset = f"  product {item['asset']}" if item.get("asset") else ""
    instance = f" (instance {item['instance']} of {item['quantity']})" if item.get("instance") else ""
    node = parent.add(f"[bold]item {item['item']}[/bold]: {item['action']} "
                      f"{item['offering'] or '(no offering)'}{instance}{asset}  {attrs}".rstrip())
    for rule in item["rules"]:
        _draw_rule(node, rule)
    for child in item["children"]:
        _draw_item(node, child)


def _draw_rule(parent: Tree, rule: dict[str, Any]) -> None:
    line = rule.get("line")
    if not rule["fired"]:
        gone = f" -> {line['action']} {line['id']}" if line else ""
        parent.add(f"[dim]rule {rule['rule']} did not fire: {rule['why']}{gone}[/dim]")
        if line and not line.get("shared"):
            _draw_line_details(parent.children[-1], line)
        return
    assert line is not None
    if line.get("shared"):
        parent.add(f"rule {rule['rule']} fired -> {line['action']} {line['id']} (shared, above)")
        return
    why = "" if rule["why"] == "no condition" else f" ({rule['why']})"
    reason = f": {line['reason']}" if line.get("reason") else ""
    node = parent.add(f"rule {rule['rule']} fired{why} -> [bold]{line['action']}[/bold] "
                      f"{line['id']}{reason}")
    _draw_line_details(node, line)


def _draw_line_details(node: Tree, line: dict[str, Any]) -> None:
    for name, attr in line["attributes"].items():
        shown = "(not set)" if attr["value"] is None else _value(attr["value"])
        node.add(f"{name} = {shown}  [dim]<- {attr['how']}[/dim]")
    for key in line["plan_items"]:
        node.add(f"[cyan]plan item {key}[/cyan]")
    for rule in line["rules"]:
        _draw_rule(node, rule)


def plan_problems(ex: dict[str, Any]) -> str:
    return "no plan: " + "; ".join(f"{p['field']}: {p['message']}" for p in ex["plan"]["problems"])


def plan_table(ex: dict[str, Any]) -> Table | str:
    plan = ex["plan"]
    if plan["problems"]:
        return plan_problems(ex)
    table = Table(title=f"plan: {len(plan['items'])} items", title_justify="left")
    for column in ("item", "type", "system", "after", "ponr", "expected"):
        table.add_column(column, no_wrap=column != "after", overflow="fold")
    for p in plan["items"]:
        table.add_row(p["key"], p["type"], p["system"] or "", "\n".join(p["depends_on"]),
                      "yes" if p["ponr"] else "", p.get("expected_duration") or "")
    return table


def diff_command(
    old: Path = typer.Argument(..., help="The catalog in use (file or folder)."),
    new: Path = typer.Argument(..., help="The new catalog (file or folder)."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
    exit_code: bool = typer.Option(False, "--exit-code", help="Exit 1 when something changed, "
                                   "0 when nothing did (as git diff --exit-code; for CI)."),
) -> None:
    """List what a new catalog version changes: products, rules, scenarios, systems."""
    # as git diff --exit-code: 1 says "changed", so a catalog that cannot be read says 2
    invalid = 2 if exit_code else 1
    diff = diff_catalogs(_load(old, invalid).catalog, _load(new, invalid).catalog)
    if as_json:
        typer.echo(json.dumps(diff.as_dict(), indent=2, ensure_ascii=False))
    else:
        for line in diff.lines():
            typer.echo(line)
    if exit_code and diff.changed:
        raise typer.Exit(1)
