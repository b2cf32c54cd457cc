"""What a new catalog version changes: elements added, removed and changed, field by field.

Elements are matched by identity: systems, products, technical products, rules, work queues
and assignment rules by ``id``, scenarios by (technical product, action). A changed element
lists each changed field as a path (``mappings.speed_profile.values.basic``) with its old
and new value. In-flight orders are not affected by any of it (their plan items hold what
they need); the diff says what new orders will get.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .catalog import Catalog
from .durations import format_duration

SECTIONS: tuple[tuple[str, str], ...] = (
    ("systems", "system"), ("products", "product"), ("technical_products", "technical product"),
    ("rules", "rule"), ("scenarios", "scenario"), ("work_queues", "work queue"),
    ("assignment_rules", "assignment rule"),
)


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed
    section: str  # the element's kind: rule, scenario, ...
    id: str
    fields: tuple[FieldChange, ...] = ()

    def __str__(self) -> str:
        mark = {"added": "+", "removed": "-", "changed": "~"}[self.kind]
        return f"{mark} {self.section} {self.id}"


@dataclass
class CatalogDiff:
    old_version: str
    new_version: str
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def lines(self) -> list[str]:
        out = [f"catalog {self.old_version} -> {self.new_version}"]
        if not self.changes:
            return out + ["no changes to products, rules, scenarios or systems"]
        for change in self.changes:
            out.append(str(change))
            out += [f"    {f}" for f in change.fields]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"old_version": self.old_version, "new_version": self.new_version,
                "changes": [{"kind": c.kind, "section": c.section, "id": c.id,
                             "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields]}
                            for c in self.changes]}


def _key(section: str, element: dict[str, Any]) -> str:
    if section == "scenarios":
        return f"{element['product']}/{element.get('action', 'add')}"
    return str(element["id"])


class Duration(str):
    """A duration as catalog files write it ('5s', '2d'), printed bare in the diff."""


def _as_written(value: Any) -> Any:
    """A dumped element with its durations as catalog files write them ('5s', not 'PT5S')
    and its tuples as lists."""
    if isinstance(value, timedelta):
        return Duration(format_duration(value))
    if isinstance(value, (date, datetime)):  # YAML reads dates in bodies and defaults
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_written(v) for v in value]
    return value


def _elements(catalog: Catalog, section: str) -> dict[str, dict[str, Any]]:
    dumped = [_as_written(e.model_dump(mode="python", by_alias=True, exclude_none=True))
              for e in getattr(catalog, section, ())]
    return {_key(section, e): e for e in dumped}


def diff_catalogs(old: Catalog, new: Catalog) -> CatalogDiff:
    result = CatalogDiff(old.release, new.release)
    for section, label in SECTIONS:
        before, after = _elements(old, section), _elements(new, section)
        for key in after:
            if key not in before:
                result.changes.append(Change("added", label, key))
        for key in before:
            if key not in after:
                result.changes.append(Change("removed", label, key))
            elif before[key] != after[key]:
                result.changes.append(Change("changed", label, key,
                                             tuple(_field_changes(before[key], after[key], ""))))
    return result


def _field_changes(old: Any, new: Any, path: str) -> list[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in new:
                out.append(FieldChange(sub, old[k], None))
            elif k not in old:
                out.append(FieldChange(sub, None, new[k]))
            elif old[k] != new[k]:
                out += _field_changes(old[k], new[k], sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) \
            and all(isinstance(x, dict) for x in old + new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                label = a.get("id") if isinstance(a.get("id"), str) and a.get("id") == b.get("id") else i
                out += _field_changes(a, b, f"{path}[{label}]")
        return out
    return [FieldChange(path or "(value)", old, new)]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Duration):
        return str(value)
    return repr(value) if isinstance(value, str) else str(value)
