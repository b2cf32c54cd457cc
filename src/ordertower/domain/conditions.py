"""A small, safe condition language for decomposition rules and plan items.

    tier in ['unlimited', 'unlimited-plus'] and action = 'add'
    speed_mbps >= 500 or not (install = 'self')
    features contains 'roaming'

Operators: ``= != < <= > >= in, not in, contains``, ``and or not`` and parentheses.
Keywords are case-insensitive; string comparison is case-sensitive. Names are
attributes of the line (and ``action``); dotted names reach related items.

Semantics (documented in docs/catalog.md):
- A missing attribute makes every comparison that uses it false; it never raises.
  ``not`` still negates, so ``not (port_number = '1')`` is true when it is missing.
- Comparison is typed: a number compares with a number (a numeric string is read as
  one), a date with a date (an ISO string is read as one). Values that cannot be
  compared make the comparison false.

The text is parsed once, at catalog load, into a tree; evaluation walks the tree.
No ``eval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


class ConditionSyntaxError(ValueError):
    def __init__(self, message: str, column: int, text: str):
        super().__init__(f"{message} at column {column}")
        self.message = message
        self.column = column
        self.text = text


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|!=|==|=|<|>)
  | (?P<punct>[()\[\],])
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "contains", "true", "false", "null"}


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    column: int  # 1-based


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConditionSyntaxError(f"unexpected character {text[pos]!r}", pos + 1, text)
        kind = m.lastgroup or ""
        raw = m.group(kind)
        col = pos + 1
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "number":
            tokens.append(Token("literal", Decimal(raw), col))
        elif kind == "string":
            body = raw[1:-1]
            tokens.append(Token("literal", re.sub(r"\\(.)", r"\1", body), col))
        elif kind == "name" and raw.lower() in _KEYWORDS:
            word = raw.lower()
            if word in ("true", "false"):
                tokens.append(Token("literal", word == "true", col))
            elif word == "null":
                tokens.append(Token("literal", None, col))
            else:
                tokens.append(Token("kw", word, col))
        elif kind == "op":
            tokens.append(Token("op", "=" if raw == "==" else raw, col))
        else:
            tokens.append(Token(kind, raw, col))
    tokens.append(Token("end", None, len(text) + 1))
    return tokens


# --- syntax tree -----------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Name:
    path: str


@dataclass(frozen=True)
class ListOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Truthy:
    operand: Any


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> ConditionSyntaxError:
        tok = tok or self.peek()
        return ConditionSyntaxError(message, tok.column, self.text)

    def is_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "kw" and tok.value == word

    @staticmethod
    def is_punct(tok: Token, char: str) -> bool:
        # by kind as well as value: a string literal ']' is not a closing bracket
        return tok.kind == "punct" and tok.value == char

    def parse(self) -> Any:
        if self.peek().kind == "end":
            raise self.error("empty condition")
        node = self.parse_or()
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.describe(self.peek())}")
        return node

    def describe(self, tok: Token) -> str:
        if tok.kind == "end":
            return "end of condition"
        return f"'{tok.value}'" if tok.kind != "literal" else f"value {tok.value!r}"

    def parse_or(self) -> Any:
        parts = [self.parse_and()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def parse_and(self) -> Any:
        parts = [self.parse_not()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def parse_not(self) -> Any:
        if self.is_kw("not"):
            self.take()
            return Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> Any:
        left = self.parse_operand()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            return Compare(tok.value, left, self.parse_operand())
        if tok.kind == "kw" and tok.value in ("in", "contains"):
            self.take()
            return Compare(tok.value, left, self.parse_operand())
        if tok.kind == "kw" and tok.value == "not" and self.tokens[self.i + 1].kind == "kw" \
                and self.tokens[self.i + 1].value == "in":
            self.take()
            self.take()
            return Compare("not in", left, self.parse_operand())
        if isinstance(left, (Name, BoolOp, Not, Compare, Truthy)):
            return left if not isinstance(left, Name) else Truthy(left)
        raise self.error(f"expected an operator after {left.value!r}" if isinstance(left, Literal)
                         else "expected an operator")

    def parse_operand(self) -> Any:
        tok = self.take()
        if tok.kind == "literal":
            return Literal(tok.value)
        if tok.kind == "name":
            return Name(tok.value)
        if tok.kind == "punct" and tok.value == "(":
            node = self.parse_or()
            if not self.is_punct(self.take(), ")"):
                raise self.error("expected ')'", self.tokens[self.i - 1])
            return node
        if tok.kind == "punct" and tok.value == "[":
            items: list[Any] = []
            if self.is_punct(self.peek(), "]"):
                self.take()
                return ListOf(())
            while True:
                item = self.take()
                if item.kind != "literal":
                    raise self.error("a list holds only literal values", item)
                items.append(item.value)
                sep = self.take()
                if self.is_punct(sep, "]"):
                    return ListOf(tuple(items))
                if not self.is_punct(sep, ","):
                    raise self.error("expected ',' or ']'", sep)
        raise self.error(f"unexpected {self.describe(tok)}", tok)


@dataclass(frozen=True)
class Condition:
    """A parsed condition. ``names`` lists every attribute it reads."""

    text: str
    tree: Any

    @property
    def names(self) -> frozenset[str]:
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, Name):
                found.add(node.path)
            elif isinstance(node, Compare):
                walk(node.left)
                walk(node.right)
            elif isinstance(node, BoolOp):
                for op in node.operands:
                    walk(op)
            elif isinstance(node, (Not, Truthy)):
                walk(node.operand)

        walk(self.tree)
        return frozenset(found)

    def evaluate(self, lookup: Mapping[str, Any] | Callable[[str], Any]) -> bool:
        get = lookup if callable(lookup) else (lambda name: lookup.get(name, MISSING))
        return bool(_eval(self.tree, get))


def parse_condition(text: str) -> Condition:
    return Condition(text, _Parser(text).parse())


# --- evaluation --------------------------------------------------------------------

def _eval(node: Any, get: Callable[[str], Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        value = get(node.path)
        return MISSING if value is None else value
    if isinstance(node, ListOf):
        return list(node.items)
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(_eval(op, get) for op in node.operands)
        return any(_eval(op, get) for op in node.operands)
    if isinstance(node, Not):
        return not _eval(node.operand, get)
    if isinstance(node, Truthy):
        value = _eval(node.operand, get)
        return value is not MISSING and bool(value)
    if isinstance(node, Compare):
        return _compare(node.op, _eval(node.left, get), _eval(node.right, get))
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover - parser makes only the above


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, float)):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    # NaN is not a number one can compare (Decimal raises on it): treat it as no number
    return None if number.is_nan() else number


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _coerce_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Bring two values to one comparable type, or None when they are not comparable."""
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a, b
        other = b if isinstance(a, bool) else a
        if isinstance(other, str) and other.lower() in ("true", "false"):
            other_b = other.lower() == "true"
            return (a, other_b) if isinstance(a, bool) else (other_b, b)
        return None
    if isinstance(a, (int, float, Decimal)) or isinstance(b, (int, float, Decimal)):
        na, nb = _as_number(a), _as_number(b)
        return None if na is None or nb is None else (na, nb)
    if isinstance(a, date) or isinstance(b, date):
        da, db = _as_date(a), _as_date(b)
        return None if da is None or db is None else (da, db)
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if a is None or b is None:
        return (a, b)
    return None


def _equal(a: Any, b: Any) -> bool:
    pair = _coerce_pair(a, b)
    return pair is not None and pair[0] == pair[1]


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return False
    if op == "=":
        return _equal(a, b)
    if op == "!=":
        pair = _coerce_pair(a, b)
        return pair is not None and pair[0] != pair[1]
    if op in ("in", "not in"):
        if not isinstance(b, (list, tuple, set, frozenset)):
            return False
        found = any(_equal(a, x) for x in b)
        return found if op == "in" else not found
    if op == "contains":
        if isinstance(a, (list, tuple, set, frozenset)):
            return any(_equal(x, b) for x in a)
        if isinstance(a, str) and isinstance(b, str):
            return b in a
        return False
    pair = _coerce_pair(a, b)
    if pair is None or pair[0] is None or pair[1] is None or isinstance(pair[0], bool):
        return False
    x, y = pair
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
