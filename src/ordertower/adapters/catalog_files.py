"""Read catalog YAML files (one file or a folder of them) into a checked Catalog.

Each file is a mapping with any of the sections ``version``, ``systems``, ``products``,
``technical_products``, ``rules``, ``scenarios``; a folder's files are merged in name
order. Every problem is reported with its file, its line and its path inside the document,
e.g. ``telecom.yaml:42: rules[3].target: unknown technical product 'sim-crd'``.

Every problem is found in one run: the cross-reference checks run on the elements that could
be read, whatever else was wrong (domain/catalog_checks.py says how what could not be read is
accounted for); a section of unknown name close to a known one is read as that section.
"""

from __future__ import annotations

import difflib
import hashlib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..domain.catalog import (AssignmentRule, Catalog, CommercialProduct, Rule, Scenario,
                              System, TechnicalProduct, WorkQueue)
from ..domain.catalog_checks import Unread, catalog_warnings, check_catalog, did_you_mean
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
    knock_on: str | None = None  # a knock-on error: what it follows from

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} [knock-on: {self.knock_on}]" if self.knock_on else text


class CatalogLoadError(Exception):
    def __init__(self, problems: list[CatalogProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    @property
    def knock_ons(self) -> int:
        return sum(1 for p in self.problems if p.knock_on)


def _ordered(problems: list[CatalogProblem]) -> list[CatalogProblem]:
    """By file and line, knock-on errors after the problems they follow from."""
    return sorted(problems, key=lambda p: (p.knock_on is not None, p.file, p.line or 0))


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


# libyaml's parser (in PyYAML's wheels) when there is one: the same nodes, ten times as fast
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The file's node tree (for line numbers) and its data, from one parse. A file that is
    not valid YAML is parsed again by the pure-Python parser, whose messages say more
    ("expected the node content, but found '<stream end>'")."""
    try:
        return _parse_with(_LOADER, text)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
    return _parse_with(yaml.SafeLoader, text)


def _parse_with(loader_class: Any, text: str) -> tuple[yaml.Node | None, Any]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def _note_broken(section: str, element: Any, broken: dict[str, set[str]],
                 unread: list[tuple[str, str]], where: str) -> None:
    """Remember an element that failed its own checks: by its id when it has one (naming it
    elsewhere is then no error), else as text that could not be read."""
    if isinstance(element, dict):
        key = "product" if section == "scenarios" else "id"
        ident = element.get(key)
        if isinstance(ident, str):
            broken.setdefault(section, set()).add(ident)
            items = element.get("items")
            if section == "scenarios" and isinstance(items, list):  # its milestones, maybe
                written = {i.get("id") for i in items if isinstance(i, dict)}
                broken.setdefault("milestones", set()).update(i for i in written if isinstance(i, str))
            return
    unread.append((where, yaml.safe_dump(element)))


def _fields_at(model: type[BaseModel], loc: list[str | int]) -> list[str]:
    """The field names (as written in files) of the model found at ``loc`` inside ``model``,
    for "did you mean" on an unknown field."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list or tuple: the element type is already current
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if info is None:
            return []
        current = _element_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _element_model(annotation: Any) -> Any:
    """The model in ``X``, ``X | None``, ``tuple[X, ...]`` or ``dict[str, X]`` (one level of
    nesting inside the union too), else None."""
    candidates = [annotation, *typing.get_args(annotation)]
    candidates += [sub for arg in candidates[1:] for sub in typing.get_args(arg)]
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def load_catalog(path: str | Path | None = None, known_steps: Iterable[str] | None = None) -> LoadedCatalog:
    """Load and check a catalog. Raises CatalogLoadError listing every problem found.
    ``known_steps``: the auto steps a scenario may name (engine/steps.py; its
    ``unavailable`` mapping, if any, says why an installed one cannot be used)."""
    root = Path(path) if path is not None else REFERENCE_CATALOG
    if not root.exists():
        raise CatalogLoadError([CatalogProblem(str(root), None, "", "no such file or folder")])
    files = _files(root)
    if not files:
        raise CatalogLoadError([CatalogProblem(str(root), None, "", "no .yaml files in this folder")])
    problems: list[CatalogProblem] = []
    merged: dict[str, list[Any]] = {s: [] for s in SECTIONS}
    # where each element came from: file, its YAML tree, index in the file, key in the file
    origin: dict[str, list[tuple[str, yaml.Node | None, int, str]]] = {s: [] for s in SECTIONS}
    unread_texts: list[tuple[str, str]] = []
    version: tuple[str, str] | None = None
    digest = hashlib.sha256()

    for file in files:
        name = file.name if root.is_dir() else str(file)
        raw = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + raw)
        try:
            text = raw.decode("utf-8")
            node, doc = _parse(text)
        except UnicodeDecodeError:
            problems.append(CatalogProblem(name, None, "", "not UTF-8 text"))
            unread_texts.append((name, raw.decode("utf-8", errors="replace")))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.append(CatalogProblem(name, mark.line + 1 if mark else None, "",
                                           f"not valid YAML: {getattr(exc, 'problem', exc)}"))
            unread_texts.append((name, text))
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            problems.append(CatalogProblem(name, 1, "", "a catalog file must be a mapping of sections"))
            unread_texts.append((name, text))
            continue
        for key, value in doc.items():
            if key == "version":
                if version is not None and str(value) != version[1]:
                    problems.append(CatalogProblem(name, _line_of(node, ["version"]), "version",
                                                   f"'{value}' differs from '{version[1]}' in {version[0]}"))
                version = version or (name, str(value))
                continue
            section = key if key in SECTIONS else None
            if section is None:
                guess = difflib.get_close_matches(str(key), list(SECTIONS), n=1, cutoff=0.8)
                problems.append(CatalogProblem(
                    name, _line_of(node, [key]), str(key),
                    f"unknown section (expected version, {', '.join(SECTIONS)})"
                    + (f"; did you mean '{guess[0]}'? (its elements are checked as such)"
                       if guess and isinstance(value, list) else "")))
                if not (guess and isinstance(value, list)):
                    unread_texts.append((f"{name}:{_line_of(node, [key])}", yaml.safe_dump(value)))
                    continue
                section = guess[0]
            if not isinstance(value, list):
                problems.append(CatalogProblem(name, _line_of(node, [key]), str(key),
                                               "must be a list"))
                unread_texts.append((f"{name}:{_line_of(node, [key])}", yaml.safe_dump(value)))
                continue
            for idx, element in enumerate(value):
                merged[section].append(element)
                origin[section].append((name, node, idx, str(key)))

    def locate(section: str, index: int, rest: Iterable[str | int]) -> tuple[str, int | None, str]:
        file_name, node, local, key = origin[section][index]
        doc_path = [key, local, *rest]
        return file_name, _line_of(node, doc_path), format_path(doc_path)

    parsed: dict[str, list[Any]] = {s: [] for s in SECTIONS}
    kept: dict[str, list[int]] = {s: [] for s in SECTIONS}  # the merged index of each parsed element
    broken: dict[str, set[str]] = {}
    for section, model in SECTIONS.items():
        adapter = TypeAdapter(model)
        for idx, element in enumerate(merged[section]):
            try:
                parsed[section].append(adapter.validate_python(element))
                kept[section].append(idx)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
                    file_name, line, p = locate(section, idx, loc)
                    msg = err["msg"].removeprefix("Value error, ")
                    if err["type"] == "extra_forbidden" and loc:
                        msg += did_you_mean(str(loc[-1]), _fields_at(model, loc[:-1]))
                    problems.append(CatalogProblem(file_name, line, p, _name_rule(section, element, msg)))
                file_name, line, _ = locate(section, idx, [])
                _note_broken(section, element, broken, unread_texts, f"{file_name}:{line}")

    catalog = Catalog(version=version[1] if version else "0", **parsed)
    unread = Unread({k: frozenset(v) for k, v in broken.items()}, tuple(unread_texts))
    for issue in check_catalog(catalog, known_steps, unread=unread,
                               unavailable_steps=getattr(known_steps, "unavailable", None)):
        section, index, *rest = issue.path if len(issue.path) >= 2 else (*issue.path, 0)
        file_name, line, p = locate(str(section), kept[str(section)][int(index)], rest)
        problems.append(CatalogProblem(file_name, line, p, issue.message, issue.knock_on))
    if problems:
        raise CatalogLoadError(_ordered(problems))
    warnings = []
    for issue in catalog_warnings(catalog):
        section, index, *rest = issue.path
        file_name, line, p = locate(str(section), kept[str(section)][int(index)], rest)
        warnings.append(CatalogProblem(file_name, line, p, f"warning: {issue.message}"))
    loaded = LoadedCatalog(catalog, tuple(files), digest.hexdigest(), tuple(warnings))
    catalog._release = loaded.version
    return loaded
