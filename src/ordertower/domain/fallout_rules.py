"""Assigning fallout by rule: rules are data (``fallout_rules``, in order, managed through
``/api/v1/fallout/rules``), each with filters and a target (a user or a queue). The first rule
whose every filter matches an item going to fallout assigns it; none: it stays unassigned.

Filters: ``system`` (the item's fulfillment system, exactly), ``error`` (a regular expression
searched in the item's error, case-insensitive), ``product`` (the technical product of the
item's fulfillment line, exactly). A rule names at least one filter and exactly one target.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from .errors import Issue

FILTERS = ("system", "error", "product")
MAX_PATTERN = 500


def matches(rule: dict[str, Any], system: str | None, error: str | None, product: str | None) -> bool:
    if rule.get("system") and rule["system"] != system:
        return False
    if rule.get("product") and rule["product"] != product:
        return False
    if rule.get("error"):
        try:
            if not re.search(rule["error"], error or "", re.IGNORECASE):
                return False
        except re.error:
            return False
    return True


def first_match(rules: Iterable[dict[str, Any]], system: str | None, error: str | None,
                product: str | None) -> dict[str, Any] | None:
    return next((r for r in rules if matches(r, system, error, product)), None)


def rule_issues(rule: dict[str, Any]) -> list[Issue]:
    """What is wrong with a rule as given (``system``, ``error``, ``product``, ``user``,
    ``queue``): empty when it is valid."""
    issues: list[Issue] = []
    for name in (*FILTERS, "user", "queue"):
        value = rule.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            issues.append(Issue(name, "expected a non-empty string"))
    if not any(rule.get(f) for f in FILTERS):
        issues.append(Issue("system", "name at least one of system, error, product"))
    if bool(rule.get("user")) == bool(rule.get("queue")):
        issues.append(Issue("user", "name exactly one target: user or queue"))
    pattern = rule.get("error")
    if isinstance(pattern, str) and pattern:
        if len(pattern) > MAX_PATTERN:
            issues.append(Issue("error", f"at most {MAX_PATTERN} characters"))
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                issues.append(Issue("error", f"not a regular expression: {exc}"))
    return issues
