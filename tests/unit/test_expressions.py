"""Specification of mapping expressions (ordertower.domain.expressions), table-driven: the
value side of the language that conditions share. docs/catalog.md, "The expression language".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ordertower.domain.conditions import parse_condition
from ordertower.domain.expressions import (MISSING, ConditionSyntaxError, parse_expression, plain)

LINE = {"speed_mbps": "500", "speed": 100, "price": 19.99, "tier": "unlimited", "name": "Ada",
        "start": date(2026, 3, 10), "start_text": "2026-03-10", "smart": True, "empty": "",
        "nothing": None, "bundle.tier": "gold", "features": ["a"]}


def value(text: str):
    return plain(parse_expression(text).evaluate(LINE))


def rows(*cases):
    return pytest.mark.parametrize("text, expected", cases, ids=[c[0] for c in cases])


@rows(
    ("speed * 1000", 100000),
    ("speed_mbps * 1000", 500000),  # a numeric string is read as a number
    ("speed + 0.5", 100.5),
    ("speed - 1", 99),
    ("speed / 8", 12.5),
    ("-speed", -100),
    ("2 + 3 * 4", 14),  # * before +
    ("(2 + 3) * 4", 20),
    ("price * 2", 39.98),
    ("'ab' + 'cd'", "abcd"),  # two strings: joined
    ("start + 7", "2026-03-17"),  # a date plus days
    ("start - 9", "2026-03-01"),
    ("start - '2026-03-01'", 9),  # a date minus a date: days
    ("tier", "unlimited"),
    ("bundle.tier", "gold"),  # a related item's attribute
    ("'x'", "x"),
    ("42", 42),
    ("speed >= 100", True),  # a comparison is a value too
)
def test_arithmetic_and_values(text, expected):
    assert value(text) == expected


@rows(
    ("lower('AbC')", "abc"),
    ("upper(tier)", "UNLIMITED"),
    ("text(speed)", "100"),
    ("text(smart)", "true"),
    ("text(start)", "2026-03-10"),
    ("number('42.50')", 42.5),
    ("concat('line-', speed, '-', tier)", "line-100-unlimited"),
    ("coalesce(port_number, name)", "Ada"),
    ("coalesce(port_number, nothing)", None),
    ("round(price)", 20),
    ("round(price, 1)", 20.0),
    ("ROUND(2.5)", 3),  # function names are case-insensitive; half rounds up
)
def test_functions(text, expected):
    assert value(text) == expected


@rows(
    ("if speed >= 500 then 'fast' else 'slow'", "slow"),
    ("if speed_mbps >= 500 then 'fast' else 'slow'", "fast"),
    ("if port_number = '1' then 'ported' else 'new'", "new"),  # missing: the comparison is false
    ("if smart then 'remote' else concat('visit ', name)", "remote"),
    ("if tier in ['basic'] then 1 else if tier = 'unlimited' then 2 else 3", 2),
)
def test_if_then_else(text, expected):
    assert value(text) == expected


@rows(
    ("port_number * 2", None),  # missing attribute: missing result, never an error
    ("tier * 2", None),  # text times a number
    ("speed / 0", None),
    ("-tier", None),
    ("smart + 1", None),  # booleans are not numbers
    ("start + 1.5", None),  # only whole days
    ("upper(speed)", None),
    ("concat('a', port_number)", None),
    ("number('many')", None),
    ("features * 2", None),
    ("text(features)", None),
)
def test_values_that_do_not_fit_give_nothing(text, expected):
    assert value(text) is expected


def test_the_result_keeps_its_type_until_it_is_made_plain():
    assert parse_expression("speed * 2").evaluate(LINE) == Decimal(200)
    assert parse_expression("start + 1").evaluate(LINE) == date(2026, 3, 11)
    assert parse_expression("port_number").evaluate(LINE) is MISSING


def test_an_expression_lists_the_attributes_it_reads():
    expr = parse_expression("if a > 1 then concat(b, bundle.c) else coalesce(d, -e)")
    assert expr.names == {"a", "b", "bundle.c", "d", "e"}


@rows(
    ("speed * 2 > 150", True),  # arithmetic inside a condition
    ("lower(tier) = 'unlimited'", True),
    ("concat(tier, '!') contains '!'", True),
    ("if smart then speed > 1 else false", True),
)
def test_conditions_can_compute(text, expected):
    assert parse_condition(text).evaluate(LINE) is expected


ERRORS = [
    ("", "empty expression", 1),
    ("speed *", "unexpected end of expression", 8),
    ("speed * * 2", "unexpected '*'", 9),
    ("eval('1')", "unknown function 'eval' (functions: coalesce, concat, lower, number, round, "
                  "text, upper)", 1),
    ("lower()", "lower() takes 1 argument, got 0", 1),
    ("round(1, 2, 3)", "round() takes 1 to 2 arguments, got 3", 1),
    ("lower('a' 'b')", "expected ',' or ')'", 11),
    ("if speed > 1 'a' else 'b'", "expected 'then', got value 'a'", 14),
    ("if speed > 1 then 'a'", "expected 'else', got end of expression", 22),
    ("speed # 2", "unexpected character '#'", 7),
]


@pytest.mark.parametrize("text, message, column", ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_syntax_errors_report_the_column(text, message, column):
    with pytest.raises(ConditionSyntaxError) as info:
        parse_expression(text)
    assert (info.value.message, info.value.column) == (message, column)


@pytest.mark.parametrize("text, message", [
    ("speed * 2", "expected an operator"),
    ("-speed", "expected an operator"),
])
def test_a_computation_alone_is_not_a_condition(text, message):
    with pytest.raises(ConditionSyntaxError, match=message):
        parse_condition(text)
