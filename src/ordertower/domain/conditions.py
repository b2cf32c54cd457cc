"""Conditions: the boolean view of the expression language (ordertower.domain.expressions).

    tier in ['unlimited', 'unlimited-plus'] and action = 'add'
    speed_mbps >= 500 or not (install = 'self')
    features contains 'roaming'

A condition is parsed once (at catalog load) and evaluates to a plain ``bool``; a bare
literal, list or sum where a condition is expected is a syntax error (``'basic'`` alone is
not a condition). A missing attribute makes every comparison that uses it false; ``not``
still negates, so ``not (port_number = '1')`` is true when it is missing. No ``eval``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .expressions import (MISSING, ConditionSyntaxError, Lookup, as_lookup, evaluate, names_in,
                          parse_tree)

__all__ = ["MISSING", "Condition", "ConditionSyntaxError", "parse_condition"]


@dataclass(frozen=True)
class Condition:
    """A parsed condition. ``names`` lists every attribute it reads."""

    text: str
    tree: Any

    @property
    def names(self) -> frozenset[str]:
        return names_in(self.tree)

    def evaluate(self, lookup: Lookup) -> bool:
        return bool(evaluate(self.tree, as_lookup(lookup)))


def parse_condition(text: str) -> Condition:
    return Condition(text, parse_tree(text, condition=True))
