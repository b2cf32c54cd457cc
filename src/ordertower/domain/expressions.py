"""The catalog's small, safe expression language: parsed once, evaluated by walking a tree.

Conditions (a rule's ``when``) and mapping expressions share it:

    tier in ['unlimited', 'unlimited-plus'] and action = 'add'
    speed_mbps >= 500 or not (install = 'self')
    mobile-plan.tier = 'unlimited'                      (a related item of the bundle)
    speed_mbps * 1000
    if meter_type = 'smart' then 'remote' else concat('visit ', address)

Operators: ``= != < <= > >=``, ``in``, ``not in``, ``contains``, ``and or not``,
``+ - * /``, ``if ... then ... else ...``, parentheses, and the functions in FUNCTIONS.
Keywords are case-insensitive; string comparison is case-sensitive.

Semantics (docs/catalog.md, "The expression language"):
- A missing attribute (absent or null) is MISSING: every comparison that uses it is false,
  arithmetic and functions on it give MISSING (``coalesce`` excepted); nothing raises.
- Comparison and arithmetic are typed: a number with a number (a numeric string is read as
  one), a date with a date (an ISO string is read as one). Values that do not fit make a
  comparison false and arithmetic MISSING.

No ``eval``: the text is tokenised and parsed into the node classes below; evaluation walks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Callable, Mapping

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()


class ConditionSyntaxError(ValueError):
    """A syntax error in a condition or expression, at a 1-based column of its text."""

    def __init__(self, message: str, column: int, text: str):
        super().__init__(f"{message} at column {column}")
        self.message = message
        self.column = column
        self.text = text


ExpressionSyntaxError = ConditionSyntaxError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op><=|>=|!=|==|=|<|>|\+|-|\*|/)
  | (?P<punct>[()\[\],])
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "contains", "true", "false", "null", "if", "then", "else"}
_COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}


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
            tokens.append(Token("literal", re.sub(r"\\(.)", r"\1", raw[1:-1]), col))
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


@dataclass(frozen=True)
class Arith:
    op: str  # + - * /
    left: Any
    right: Any


@dataclass(frozen=True)
class Negate:
    operand: Any


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class IfElse:
    condition: Any
    then: Any
    otherwise: Any


# --- functions ---------------------------------------------------------------------

def _text(value: Any) -> Any:
    if value is MISSING or isinstance(value, (list, tuple, dict)):
        return MISSING
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() \
            else format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else MISSING


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else MISSING


def _number(value: Any) -> Any:
    number = _as_number(value)
    return MISSING if number is None else number


def _concat(*values: Any) -> Any:
    parts = [_text(v) for v in values]
    return MISSING if any(p is MISSING for p in parts) else "".join(parts)


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not MISSING and v is not None), MISSING)


def _round(value: Any, digits: Any = Decimal(0)) -> Any:
    number, places = _as_number(value), _as_number(digits)
    if number is None or places is None or places != places.to_integral_value():
        return MISSING
    return number.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None
    doc: str


FUNCTIONS: dict[str, Function] = {
    "lower": Function(_lower, 1, 1, "the text in lower case"),
    "upper": Function(_upper, 1, 1, "the text in upper case"),
    "text": Function(_text, 1, 1, "the value as text (500, 19.99, true, 2026-03-01)"),
    "number": Function(_number, 1, 1, "the value as a number (a numeric string is read as one)"),
    "concat": Function(_concat, 1, None, "the values as text, joined"),
    "coalesce": Function(_coalesce, 1, None, "the first value that is not missing"),
    "round": Function(_round, 1, 2, "the number rounded to 0 (or the given) decimal places"),
}


# --- parser ------------------------------------------------------------------------

class _Parser:
    """Recursive descent. ``condition`` mode refuses a bare literal, list or arithmetic
    where a condition is expected (``'basic'`` alone is not a condition)."""

    def __init__(self, text: str, condition: bool):
        self.text = text
        self.condition = condition
        self.noun = "condition" if condition else "expression"
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def error(self, message: str, tok: Token | None = None) -> ConditionSyntaxError:
        tok = tok or self.peek()
        return ConditionSyntaxError(message, tok.column, self.text)

    def is_kw(self, word: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind == "kw" and tok.value == word

    @staticmethod
    def is_punct(tok: Token, char: str) -> bool:
        # by kind as well as value: a string literal ']' is not a closing bracket
        return tok.kind == "punct" and tok.value == char

    def describe(self, tok: Token) -> str:
        if tok.kind == "end":
            return f"end of {self.noun}"
        return f"'{tok.value}'" if tok.kind != "literal" else f"value {tok.value!r}"

    def parse(self) -> Any:
        if self.peek().kind == "end":
            raise self.error(f"empty {self.noun}")
        node = self.parse_or(boolean=self.condition)
        if self.peek().kind != "end":
            raise self.error(f"unexpected {self.describe(self.peek())}")
        return node

    def parse_or(self, boolean: bool) -> Any:
        parts = [self.parse_and(boolean)]
        while self.is_kw("or"):
            self.take()
            parts.append(self.parse_and(True))
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(_truthy(p) for p in parts))

    def parse_and(self, boolean: bool) -> Any:
        parts = [self.parse_not(boolean)]
        while self.is_kw("and"):
            self.take()
            parts.append(self.parse_not(True))
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(_truthy(p) for p in parts))

    def parse_not(self, boolean: bool) -> Any:
        if self.is_kw("not"):
            self.take()
            return Not(self.parse_not(True))
        return self.parse_comparison(boolean)

    def parse_comparison(self, boolean: bool) -> Any:
        left = self.parse_sum()
        tok = self.peek()
        if tok.kind == "op" and tok.value in _COMPARISONS:
            self.take()
            return Compare(tok.value, left, self.parse_sum())
        if tok.kind == "kw" and tok.value in ("in", "contains"):
            self.take()
            return Compare(tok.value, left, self.parse_sum())
        if self.is_kw("not") and self.is_kw("in", 1):
            self.take()
            self.take()
            return Compare("not in", left, self.parse_sum())
        if boolean and self.condition:
            if isinstance(left, Literal):
                raise self.error(f"expected an operator after {left.value!r}")
            if isinstance(left, (ListOf, Arith, Negate)):
                raise self.error("expected an operator")
        return _truthy(left) if boolean else left

    def parse_sum(self) -> Any:
        node = self.parse_term()
        while self.peek().kind == "op" and self.peek().value in ("+", "-"):
            node = Arith(self.take().value, node, self.parse_term())
        return node

    def parse_term(self) -> Any:
        node = self.parse_unary()
        while self.peek().kind == "op" and self.peek().value in ("*", "/"):
            node = Arith(self.take().value, node, self.parse_unary())
        return node

    def parse_unary(self) -> Any:
        tok = self.peek()
        if tok.kind == "op" and tok.value == "-":
            self.take()
            operand = self.parse_unary()
            if isinstance(operand, Literal) and isinstance(operand.value, Decimal):
                return Literal(-operand.value)
            return Negate(operand)
        return self.parse_atom()

    def parse_atom(self) -> Any:
        tok = self.take()
        if tok.kind == "literal":
            return Literal(tok.value)
        if tok.kind == "name":
            if self.is_punct(self.peek(), "("):
                return self.parse_call(tok)
            return Name(tok.value)
        if tok.kind == "kw" and tok.value == "if":
            condition = self.parse_or(boolean=True)
            self.expect_kw("then")
            then = self.parse_or(boolean=False)
            self.expect_kw("else")
            return IfElse(condition, then, self.parse_or(boolean=False))
        if self.is_punct(tok, "("):
            node = self.parse_or(boolean=False)
            closing = self.take()
            if not self.is_punct(closing, ")"):
                raise self.error("expected ')'", closing)
            return node
        if self.is_punct(tok, "["):
            return self.parse_list()
        raise self.error(f"unexpected {self.describe(tok)}", tok)

    def expect_kw(self, word: str) -> None:
        tok = self.take()
        if not (tok.kind == "kw" and tok.value == word):
            raise self.error(f"expected '{word}', got {self.describe(tok)}", tok)

    def parse_call(self, name: Token) -> Any:
        function = FUNCTIONS.get(name.value.lower())
        if function is None:
            raise self.error(f"unknown function '{name.value}' (functions: "
                             f"{', '.join(sorted(FUNCTIONS))})", name)
        self.take()  # (
        args: list[Any] = []
        if self.is_punct(self.peek(), ")"):
            self.take()
        else:
            while True:
                args.append(self.parse_or(boolean=False))
                sep = self.take()
                if self.is_punct(sep, ")"):
                    break
                if not self.is_punct(sep, ","):
                    raise self.error("expected ',' or ')'", sep)
        n, lo, hi = len(args), function.min_args, function.max_args
        if n < lo or (hi is not None and n > hi):
            wanted = str(lo) if lo == hi else f"{lo} or more" if hi is None else f"{lo} to {hi}"
            raise self.error(f"{name.value.lower()}() takes {wanted} argument"
                             f"{'' if wanted == '1' else 's'}, got {n}", name)
        return Call(name.value.lower(), tuple(args))

    def parse_list(self) -> Any:
        items: list[Any] = []
        if self.is_punct(self.peek(), "]"):
            self.take()
            return ListOf(())
        while True:
            item = self.take()
            sign = Decimal(1)
            if item.kind == "op" and item.value == "-" and self.peek().kind == "literal" \
                    and isinstance(self.peek().value, Decimal):
                sign, item = Decimal(-1), self.take()
            if item.kind != "literal":
                raise self.error("a list holds only literal values", item)
            items.append(item.value * sign if sign < 0 else item.value)
            sep = self.take()
            if self.is_punct(sep, "]"):
                return ListOf(tuple(items))
            if not self.is_punct(sep, ","):
                raise self.error("expected ',' or ']'", sep)


def _truthy(node: Any) -> Any:
    """A value used as a condition: a name or a call is true when present and truthy."""
    return Truthy(node) if isinstance(node, (Name, Call, IfElse)) else node


def parse_tree(text: str, *, condition: bool) -> Any:
    return _Parser(text, condition).parse()


def names_in(tree: Any) -> frozenset[str]:
    """Every attribute name an expression reads (dotted names for related items)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.add(node.path)
        elif isinstance(node, (Compare, Arith)):
            stack += [node.left, node.right]
        elif isinstance(node, BoolOp):
            stack += list(node.operands)
        elif isinstance(node, (Not, Truthy, Negate)):
            stack.append(node.operand)
        elif isinstance(node, Call):
            stack += list(node.args)
        elif isinstance(node, IfElse):
            stack += [node.condition, node.then, node.otherwise]
    return frozenset(found)


Lookup = Mapping[str, Any] | Callable[[str], Any]


def as_lookup(lookup: Lookup) -> Callable[[str], Any]:
    return lookup if callable(lookup) else (lambda name: lookup.get(name, MISSING))


@dataclass(frozen=True)
class Expression:
    """A parsed value expression (a mapping's ``expression``)."""

    text: str
    tree: Any

    @property
    def names(self) -> frozenset[str]:
        return names_in(self.tree)

    def evaluate(self, lookup: Lookup) -> Any:
        """The value, or MISSING. Numbers come back as Decimal, dates as dates."""
        return evaluate(self.tree, as_lookup(lookup))


def parse_expression(text: str) -> Expression:
    return Expression(text, parse_tree(text, condition=False))


def plain(value: Any) -> Any:
    """An evaluated value as JSON-able data: Decimal -> int or float, date -> ISO text,
    MISSING -> None."""
    if value is MISSING:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


# --- evaluation --------------------------------------------------------------------

def evaluate(node: Any, get: Callable[[str], Any]) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        value = get(node.path)
        return MISSING if value is None else value
    if isinstance(node, Compare):
        return _compare(node.op, evaluate(node.left, get), evaluate(node.right, get))
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(evaluate(op, get) for op in node.operands)
        return any(evaluate(op, get) for op in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, get)
    if isinstance(node, Truthy):
        value = evaluate(node.operand, get)
        return value is not MISSING and bool(value)
    if isinstance(node, ListOf):
        return list(node.items)
    if isinstance(node, Arith):
        return _arith(node.op, evaluate(node.left, get), evaluate(node.right, get))
    if isinstance(node, Negate):
        number = _as_number(evaluate(node.operand, get))
        return MISSING if number is None else -number
    if isinstance(node, Call):
        return FUNCTIONS[node.function].fn(*(evaluate(a, get) for a in node.args))
    if isinstance(node, IfElse):
        chosen = node.then if evaluate(node.condition, get) else node.otherwise
        return evaluate(chosen, get)
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover - the parser makes only the above


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
    # NaN and infinities are not numbers one can compare or compute with
    return number if number.is_finite() else None


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


def _arith(op: str, a: Any, b: Any) -> Any:
    if a is MISSING or b is MISSING:
        return MISSING
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b  # two strings: concatenation
    if isinstance(a, date) or isinstance(b, date):
        return _date_arith(op, a, b)
    x, y = _as_number(a), _as_number(b)
    if x is None or y is None:
        return MISSING
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    return MISSING if y == 0 else x / y


def _date_arith(op: str, a: Any, b: Any) -> Any:
    """date + days, date - days, date - date (a number of days)."""
    if isinstance(a, date) and op in ("+", "-"):
        if isinstance(b, date) or (isinstance(b, str) and _as_number(b) is None):
            other = _as_date(b)
            return Decimal((_as_date(a) - other).days) if op == "-" and other else MISSING
        days = _as_number(b)
        if days is None or days != days.to_integral_value():
            return MISSING
        delta = timedelta(days=int(days))
        return _as_date(a) + delta if op == "+" else _as_date(a) - delta
    if isinstance(b, date) and op == "+":
        return _date_arith("+", b, a)
    if isinstance(b, date) and op == "-" and isinstance(a, str):
        first = _as_date(a)
        return Decimal((first - _as_date(b)).days) if first else MISSING
    return MISSING


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
