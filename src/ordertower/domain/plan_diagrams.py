"""A plan as the source text of a diagram: a Mermaid flowchart or a Graphviz DOT digraph.

One node per plan item, one edge per dependency (from the item waited for to the item that
waits); a point-of-no-return item is drawn with a double border. The console draws stored
plans with it (coloured by state: entrypoints/console/diagrams.py), ``ordertower catalog
explain --format mermaid|dot`` the plan an order would get. Pure text: Mermaid and Graphviz
lay the diagrams out wherever they are shown (a browser, a pull request)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class DiagramNode:
    key: str  # the plan item's key
    label: str  # its text; "\n" breaks a line
    ponr: bool = False
    css_class: str | None = None  # Mermaid: a class declared in class_defs


def plan_edges(items: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(depended on, dependant) for each dependency between the ``items`` (``key`` and
    ``depends_on``, keys); a dependency on an item not drawn is left out."""
    items = list(items)
    keys = {i["key"] for i in items}
    return [(dep, i["key"]) for i in items for dep in i["depends_on"] if dep in keys]


def mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label (no quotes, brackets or markup)."""
    return (str(text).replace('"', "'").replace("<", "‹").replace(">", "›")
            .replace("#", "№").replace(";", ",").replace("`", "'").replace("\n", " "))


def mermaid_flowchart(nodes: list[DiagramNode], edges: Iterable[tuple[str, str]],
                      class_defs: Mapping[str, str] | None = None, direction: str = "LR") -> str:
    """Nodes ``n0``, ``n1``... in the order given."""
    ids = {n.key: f"n{i}" for i, n in enumerate(nodes)}
    lines = [f"flowchart {direction}"]
    lines += [f"  classDef {name} {style}" for name, style in (class_defs or {}).items()]
    for node in nodes:
        text = "<br/>".join(mermaid_text(part) for part in node.label.split("\n"))
        left, right = ('[["', '"]]') if node.ponr else ('["', '"]')
        lines.append(f"  {ids[node.key]}{left}{text}{right}")
        if node.css_class:
            lines.append(f"  class {ids[node.key]} {node.css_class}")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in edges if a in ids and b in ids]
    lines += [f"  style {ids[n.key]} stroke-width:4px" for n in nodes if n.ponr]
    return "\n".join(lines)


def _dot_string(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_digraph(nodes: list[DiagramNode], edges: Iterable[tuple[str, str]], name: str = "plan") -> str:
    """A DOT digraph: nodes ``n0``, ``n1``... labelled, boxes (double for the PONR)."""
    ids = {n.key: f"n{i}" for i, n in enumerate(nodes)}
    lines = [f"digraph {_dot_string(name)} {{", "  rankdir=LR;",
             '  node [shape=box, fontname="Helvetica"];']
    for node in nodes:
        extra = ", peripheries=2, penwidth=2" if node.ponr else ""
        lines.append(f"  {ids[node.key]} [label={_dot_string(node.label)}, "
                     f"tooltip={_dot_string(node.key)}{extra}];")
    lines += [f"  {ids[a]} -> {ids[b]};" for a, b in edges if a in ids and b in ids]
    lines.append("}")
    return "\n".join(lines)
