"""Request templates of callouts: ``${name}`` placeholders filled from the line and order.

A string that is exactly one placeholder takes the value with its type (a number stays a
number; a missing value becomes null); a placeholder inside a longer string is interpolated
(a missing value becomes the empty string). Names are the line's attributes plus the
built-ins below. Templates are checked at catalog load: an unknown name is an error.
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
BUILTINS = frozenset({"order.id", "order.external_id", "customer.id", "line.id", "line.action",
                      "item.id", "callback_url"})


def placeholders(template: Any) -> Iterator[str]:
    """Every placeholder name used anywhere in a template."""
    if isinstance(template, str):
        yield from PLACEHOLDER.findall(template)
    elif isinstance(template, dict):
        for key, value in template.items():
            yield from placeholders(key)
            yield from placeholders(value)
    elif isinstance(template, (list, tuple)):
        for value in template:
            yield from placeholders(value)


def render(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return values.get(whole.group(1))
        return PLACEHOLDER.sub(lambda m: _text(values.get(m.group(1))), template)
    if isinstance(template, dict):
        return {render(k, values): render(v, values) for k, v in template.items()}
    if isinstance(template, (list, tuple)):
        return [render(v, values) for v in template]
    return template


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
