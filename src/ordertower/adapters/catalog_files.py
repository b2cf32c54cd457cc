"""Read catalog YAML files (one file or a folder of them) into a checked Catalog.

Each file is a mapping with any of the sections ``version``, ``systems``, ``products``,
``technical_products``, ``rules``, ``scenarios``; a folder's files are merged in name
order. Every problem is reported with its file, its line and its path inside the document,
e.g. ``telecom.yaml:42: rules[3].target: unknown technical product 'sim-crd'``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import TypeAdapter, ValidationError

from ..domain.catalog import (AssignmentRule, Catalog, CommercialProduct, Rule, Scenario,
                              System, TechnicalProduct, WorkQueue)
from ..domain.catalog_checks import check_catalog
from ..domain.loaded_catalog import LoadedCatalog

SECTIONS: dict[str, type] = {
    "systems": System,
    "products": CommercialProduct,
    "technical_products": TechnicalProduct,
    "rules": Rule,
    "scenarios": Scenario,
    "work_queues": WorkQueue,
    "assignment_rules": AssignmentRule,
}
REFERENCE_CATALOG = Path(__file__).resolve().parent.parent / "catalogs" / "reference"


@dataclass(frozen=True)
class CatalogProblem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class CatalogLoadError(Exception):
    def __init__(self, problems: list[CatalogProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def format_path(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(node: yaml.Node | None, path: Iterable[str | int]) -> int | None:
    """The 1-based line of the YAML node at ``path`` (or of its nearest existing parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == str(part):
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _name_rule(section: str, element: Any, message: str) -> str:
    """A syntax error in a rule's condition or expression names the rule by its id, so
    that the message says file, rule and column (``rule 'x': condition ...: at column 9``)."""
    if section == "rules" and isinstance(element, dict) and isinstance(element.get("id"), str) \
            and " at column " in message:
        return f"rule '{element['id']}': {message}"
    return message


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_catalog(path: str | Path | None = None, known_steps: Iterable[str] | None = None) -> LoadedCatalog:
    """Load and check a catalog. Raises CatalogLoadError listing every problem found."""
    root = Path(path) if path is not None else REFERENCE_CATALOG
    if not root.exists():
        raise CatalogLoadError([CatalogProblem(str(root), None, "", "no such file or folder")])
    files = _files(root)
    if not files:
        raise CatalogLoadError([CatalogProblem(str(root), None, "", "no .yaml files in this folder")])
    problems: list[CatalogProblem] = []
    merged: dict[str, list[Any]] = {s: [] for s in SECTIONS}
    origin: dict[str, list[tuple[str, yaml.Node | None, int]]] = {s: [] for s in SECTIONS}
    version: tuple[str, str] | None = None
    digest = hashlib.sha256()

    for file in files:
        name = file.name if root.is_dir() else str(file)
        raw = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + raw)
        try:
            text = raw.decode("utf-8")
            node = yaml.compose(text)
            doc = yaml.safe_load(text)
        except UnicodeDecodeError:
            problems.append(CatalogProblem(name, None, "", "not UTF-8 text"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.append(CatalogProblem(name, mark.line + 1 if mark else None, "",
                                           f"not valid YAML: {getattr(exc, 'problem', exc)}"))
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(CatalogProblem(name, 1, "", "a catalog file must be a mapping of sections"))
            continue
        for key, value in doc.items():
            if key == "version":
                if version is not None and str(value) != version[1]:
                    problems.append(CatalogProblem(name, _line_of(node, ["version"]), "version",
                                                   f"'{value}' differs from '{version[1]}' in {version[0]}"))
                version = version or (name, str(value))
            elif key in SECTIONS:
                if not isinstance(value, list):
                    problems.append(CatalogProblem(name, _line_of(node, [key]), str(key),
                                                   "must be a list"))
                    continue
                for idx, element in enumerate(value):
                    merged[key].append(element)
                    origin[key].append((name, node, idx))
            else:
                problems.append(CatalogProblem(
                    name, _line_of(node, [key]), str(key),
                    f"unknown section (expected version, {', '.join(SECTIONS)})"))

    def locate(section: str, index: int, rest: Iterable[str | int]) -> tuple[str, int | None, str]:
        file_name, node, local = origin[section][index]
        doc_path = [section, local, *rest]
        return file_name, _line_of(node, doc_path), format_path(doc_path)

    parsed: dict[str, list[Any]] = {s: [] for s in SECTIONS}
    for section, model in SECTIONS.items():
        adapter = TypeAdapter(model)
        for idx, element in enumerate(merged[section]):
            try:
                parsed[section].append(adapter.validate_python(element))
            except ValidationError as exc:
                for err in exc.errors():
                    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
                    file_name, line, p = locate(section, idx, loc)
                    msg = err["msg"].removeprefix("Value error, ")
                    problems.append(CatalogProblem(file_name, line, p, _name_rule(section, element, msg)))
    if problems:
        raise CatalogLoadError(problems)

    catalog = Catalog(version=version[1] if version else "0", **parsed)
    for issue in check_catalog(catalog, known_steps):
        section, index, *rest = issue.path if len(issue.path) >= 2 else (*issue.path, 0)
        file_name, line, p = locate(str(section), int(index), rest)
        problems.append(CatalogProblem(file_name, line, p, issue.message))
    if problems:
        raise CatalogLoadError(problems)
    loaded = LoadedCatalog(catalog, tuple(files), digest.hexdigest())
    catalog._release = loaded.version
    return loaded
