"""The output of a manual task, checked against the fields its scenario item declares
(``fields`` of a ``manual`` item: typed, some required). Pure: no I/O."""

from __future__ import annotations

from typing import Any, Iterable

from .catalog import Attribute, coerce_value
from .errors import Issue


def check_task_output(fields: Iterable[Attribute], output: dict[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
    """The output with each declared field brought to its type (a blank value is no value;
    a missing one takes its default), and an issue at ``output.<name>`` for each field that is
    required and missing or whose value does not fit its type. Undeclared keys are kept."""
    checked = dict(output)
    issues: list[Issue] = []
    for field in fields:
        raw = output.get(field.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            checked.pop(field.name, None)
            if field.default is not None:
                checked[field.name] = coerce_value(field, field.default)
            elif field.required:
                issues.append(Issue(f"output.{field.name}", "required"))
            continue
        try:
            checked[field.name] = coerce_value(field, raw)
        except ValueError as exc:
            issues.append(Issue(f"output.{field.name}", str(exc)))
    return checked, issues
