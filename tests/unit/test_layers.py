"""The layers of DESIGN.md, checked on the import graph of the source: dependencies point
downward (entrypoints -> services -> engine -> domain; adapters implement the ports and are
wired by bootstrap), and the inner layers import no framework."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "ordertower"
LAYERS = ("domain", "engine", "services", "adapters", "entrypoints", "simulators")

# what each layer may not import, of ordertower's layers
FORBIDDEN = {
    "domain": {"engine", "services", "adapters", "entrypoints", "simulators", "bootstrap"},
    "engine": {"services", "adapters", "entrypoints", "simulators", "bootstrap"},
    "services": {"adapters", "entrypoints", "simulators", "bootstrap"},
    "adapters": {"services", "entrypoints", "simulators", "bootstrap"},
}
# and the libraries that belong to the outside
FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "alembic", "httpx", "psycopg", "uvicorn",
              "typer", "rich", "yaml"}
NO_FRAMEWORK = ("domain", "engine", "services")


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != PACKAGE or len(parts) < 2:
        return None
    return parts[1]


def graph() -> dict[str, set[str]]:
    return {_module_name(p): imports_of(p) for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def violations(layer: str) -> list[str]:
    out = []
    for module, imported in graph().items():
        if layer_of(module) != layer:
            continue
        for name in sorted(imported):
            target = layer_of(name)
            if target in FORBIDDEN[layer] and target != layer:
                out.append(f"{module} imports {name}")
            if layer in NO_FRAMEWORK and name.split(".")[0] in FRAMEWORKS:
                out.append(f"{module} imports the framework {name}")
    return sorted(set(out))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_lies_beneath_it(layer):
    assert violations(layer) == []


def test_the_layers_form_no_cycle():
    edges: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for module, imported in graph().items():
        source = layer_of(module)
        for name in imported:
            target = layer_of(name)
            if source in edges and target in edges and target != source:
                edges[source].add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                   for nxt in edges[start])

    assert [layer for layer in LAYERS if reaches(layer, layer, {layer})] == []


def test_the_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The checker itself: a domain module importing an adapter is caught."""
    fake = tmp_path / PACKAGE / "domain"
    fake.mkdir(parents=True)
    (fake / "leaky.py").write_text("from ..adapters.store import tables\nimport sqlalchemy\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert violations("domain") == [
        "ordertower.domain.leaky imports ordertower.adapters.store",
        "ordertower.domain.leaky imports ordertower.adapters.store.tables",
        "ordertower.domain.leaky imports the framework sqlalchemy"]
