"""Specification of the condition language (ordertower.domain.conditions), table-driven.

Each row: condition text, the line's attributes, expected result. The semantics are
those documented in docs/catalog.md ("Conditions").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from ordertower.domain.catalog import Rule
from ordertower.domain.conditions import MISSING, ConditionSyntaxError, parse_condition

LINE = {
    "action": "add",
    "tier": "unlimited",
    "speed_mbps": 500,
    "price": 19.99,
    "count_text": "42",
    "version_text": "10",
    "features": ["roaming", "volte"],
    "note": "includes Roaming abroad",
    "supply_start": date(2026, 3, 1),
    "installed_at": datetime(2026, 3, 1, 14, 30),
    "start_text": "2026-03-01",
    "self_install": True,
    "opted_out": False,
    "nothing": None,
    "sim-card.sim_type": "esim",
    "owner": "O'Brien",
}


def ev(text: str, attrs: dict | None = None) -> bool:
    return parse_condition(text).evaluate(LINE if attrs is None else attrs)


def rows(*cases):
    return pytest.mark.parametrize("text, expected", cases, ids=[c[0] for c in cases])


# --- each operator --------------------------------------------------------------------

@rows(
    ("tier = 'unlimited'", True),
    ("tier = 'basic'", False),
    ("tier == 'unlimited'", True),  # '==' is the same as '='
    ("tier != 'basic'", True),
    ("tier != 'unlimited'", False),
    ("speed_mbps < 1000", True),
    ("speed_mbps < 500", False),
    ("speed_mbps <= 500", True),
    ("speed_mbps > 100", True),
    ("speed_mbps > 500", False),
    ("speed_mbps >= 500", True),
    ("speed_mbps >= 501", False),
    ("tier in ['unlimited', 'unlimited-plus']", True),
    ("tier in ['basic']", False),
    ("tier in []", False),
    ("speed_mbps in [100, 500, 1000]", True),
    ("tier not in ['basic']", True),
    ("tier not in ['unlimited', 'basic']", False),
    ("features contains 'roaming'", True),
    ("features contains '5g'", False),
    ("note contains 'abroad'", True),  # a string contains a substring
    ("note contains 'nowhere'", False),
    ("'unlimited' = tier", True),  # a literal may stand on the left
    ("500 <= speed_mbps", True),
)
def test_operators(text, expected):
    assert ev(text) is expected


# --- and, or, not, parentheses, precedence ----------------------------------------------

@rows(
    ("tier = 'unlimited' and speed_mbps = 500", True),
    ("tier = 'unlimited' and speed_mbps = 100", False),
    ("tier = 'basic' or speed_mbps = 500", True),
    ("tier = 'basic' or speed_mbps = 100", False),
    ("not tier = 'basic'", True),
    ("not (tier = 'unlimited')", False),
    ("not not tier = 'unlimited'", True),
    # 'and' binds tighter than 'or'
    ("tier = 'unlimited' or tier = 'basic' and speed_mbps = 1", True),
    ("(tier = 'unlimited' or tier = 'basic') and speed_mbps = 1", False),
    # 'not' binds tighter than 'and'
    ("not tier = 'basic' and speed_mbps = 500", True),
    ("not (tier = 'unlimited' and speed_mbps = 1)", True),
    ("((tier = 'unlimited'))", True),
    ("tier = 'unlimited' and speed_mbps > 100 and features contains 'volte' and action = 'add'", True),
    # a bare name is true when it is present and truthy
    ("self_install", True),
    ("opted_out", False),
    ("not opted_out", True),
    ("self_install and not opted_out", True),
)
def test_boolean_logic(text, expected):
    assert ev(text) is expected


# --- keywords are case-insensitive; strings are case-sensitive ----------------------------

@rows(
    ("tier = 'unlimited' AND speed_mbps = 500", True),
    ("tier = 'basic' Or speed_mbps = 500", True),
    ("NOT tier = 'basic'", True),
    ("tier IN ['unlimited']", True),
    ("tier NOT IN ['basic']", True),
    ("tier Not In ['unlimited']", False),
    ("features CONTAINS 'roaming'", True),
    ("self_install = TRUE", True),
    ("opted_out = False", True),
    ("tier = 'Unlimited'", False),
    ("tier = 'UNLIMITED'", False),
    ("tier in ['Unlimited']", False),
    ("note contains 'roaming'", False),  # the text has 'Roaming'
    ("note contains 'Roaming'", True),
    ("features contains 'Roaming'", False),
)
def test_case(text, expected):
    assert ev(text) is expected


# --- literals -------------------------------------------------------------------------

@rows(
    ("owner = 'O\\'Brien'", True),  # a backslash escapes a quote
    ('owner = "O\'Brien"', True),  # double quotes work as well
    ('tier = "unlimited"', True),
    ("speed_mbps > -1", True),
    ("price = 19.99", True),
    ("price > 19.9", True),
    ("sim-card.sim_type = 'esim'", True),  # dotted names and hyphens are names
    ("tier in [']', ',']", False),  # brackets and commas inside strings are text
    ("note != null", True),
)
def test_literals_and_names(text, expected):
    assert ev(text) is expected


# --- typed comparison -----------------------------------------------------------------

@rows(
    # numbers compare as numbers; a numeric string is read as a number
    ("speed_mbps = '500'", True),
    ("speed_mbps = 500.0", True),
    ("count_text = 42", True),
    ("count_text > 9", True),  # 42 > 9 as numbers
    ("count_text < 100", True),
    ("price >= '19.99'", True),
    ("speed_mbps in ['100', '500']", True),
    # two strings compare as strings (lexicographically): '10' < '9'
    ("version_text < '9'", True),
    ("version_text < 9", False),  # against a number it is read as the number 10
    # dates compare as dates; an ISO string is read as a date
    ("supply_start = '2026-03-01'", True),
    ("supply_start >= '2026-01-01'", True),
    ("supply_start < '2026-02-28'", False),
    ("supply_start > '2025-12-31'", True),
    ("installed_at = '2026-03-01'", True),  # a date-time compares by its date
    ("supply_start in ['2026-03-01', '2026-04-01']", True),
    ("start_text >= '2026-01-01'", True),  # ISO strings order like dates
    # booleans compare with booleans and with 'true'/'false'
    ("self_install = true", True),
    ("self_install = 'true'", True),
    ("self_install != false", True),
    ("opted_out = 'FALSE'", True),
)
def test_typed_comparison(text, expected):
    assert ev(text) is expected


def test_typed_values_from_the_catalog_compare_as_their_type():
    attrs = {"speed": Decimal("1000"), "day": date(2026, 1, 31)}
    assert ev("speed > 500", attrs) is True
    assert ev("speed = '1000.0'", attrs) is True
    assert ev("day < '2026-02-01'", attrs) is True
    assert ev("day > '2026-01-30' and day < '2026-02-01'", attrs) is True


# --- a missing attribute makes comparisons false and never raises ------------------------

@rows(
    ("port_number = '1'", False),
    ("port_number != '1'", False),
    ("port_number < 1", False),
    ("port_number >= 1", False),
    ("port_number in ['1', '2']", False),
    ("port_number not in ['1', '2']", False),
    ("port_number contains '1'", False),
    ("'1' contains port_number", False),
    ("port_number = null", False),
    ("port_number", False),
    ("related.item.attr = 'x'", False),
    # not still negates
    ("not (port_number = '1')", True),
    ("not port_number = '1'", True),
    ("not port_number", True),
    ("not (port_number in ['1'])", True),
    # a missing attribute does not spoil the rest of the condition
    ("port_number = '1' or tier = 'unlimited'", True),
    ("port_number = '1' and tier = 'unlimited'", False),
    # an attribute set to null is missing
    ("nothing = null", False),
    ("nothing != 'x'", False),
    ("not nothing", True),
)
def test_missing_attribute(text, expected):
    assert ev(text) is expected


# --- values of the wrong type make a comparison false, never an error ----------------------

@rows(
    ("tier > 5", False),
    ("tier = 5", False),
    ("tier != 5", False),  # not comparable: false, whatever the operator
    ("speed_mbps = 'fast'", False),
    ("speed_mbps < 'fast'", False),
    ("speed_mbps contains 5", False),
    ("tier in 'unlimited'", False),  # 'in' needs a list
    ("tier not in 'basic'", False),
    ("features = 'roaming'", False),
    ("features > 1", False),
    ("supply_start > 5", False),
    ("supply_start = 'soon'", False),
    ("self_install = 1", False),
    ("self_install < true", False),  # booleans are not ordered
    ("self_install > false", False),
    ("tier < null", False),
    ("speed_mbps >= null", False),
    ("nan_text > 1", False),
    ("nan_text = 1", False),
    ("snan_text = 1", False),
)
def test_wrong_types_are_false(text, expected):
    attrs = dict(LINE, nan_text="NaN", snan_text="sNaN")
    assert ev(text, attrs) is expected


# --- lookups ----------------------------------------------------------------------------

def test_evaluate_accepts_a_function_as_lookup():
    cond = parse_condition("tier = 'basic' and action = 'modify'")
    values = {"tier": "basic", "action": "modify"}
    assert cond.evaluate(lambda name: values.get(name, MISSING)) is True
    assert cond.evaluate(lambda name: None) is False  # None is missing


def test_names_lists_every_attribute_read():
    cond = parse_condition("tier in ['a'] and (not port_number = '1' or x.y > 2) and flag")
    assert cond.names == {"tier", "port_number", "x.y", "flag"}


def test_parsing_is_done_once_and_results_are_plain_booleans():
    cond = parse_condition("tier = 'unlimited'")
    assert cond.text == "tier = 'unlimited'"
    assert cond.evaluate(LINE) is True
    assert cond.evaluate({}) is False


# --- syntax errors report the column ---------------------------------------------------

ERRORS = [
    ("", "empty condition", 1),
    ("   ", "empty condition", 4),
    ("tier =", "unexpected end of condition", 7),
    ("tier = 'basic' and", "unexpected end of condition", 19),
    ("tier ~ 'basic'", "unexpected character '~'", 6),
    ("tier = 'basic", "unexpected character \"'\"", 8),
    ("(tier = 'basic'", "expected ')'", 16),
    ("tier = 'basic')", "unexpected ')'", 15),
    ("tier in ['a', b]", "a list holds only literal values", 15),
    ("tier in ['a' 'b']", "expected ',' or ']'", 14),
    ("tier in ['a'", "expected ',' or ']'", 13),
    ("'basic' tier", "expected an operator after 'basic'", 9),
    ("and tier = 'x'", "unexpected 'and'", 1),
    ("tier = = 'x'", "unexpected '='", 8),
    ("tier = 'a' tier = 'b'", "unexpected 'tier'", 12),
    # only the functions of the language can be called (docs/catalog.md)
    ("__import__('os')", "unknown function '__import__' (functions: coalesce, concat, lower, "
                         "number, round, text, upper)", 1),
    ("tier not 'a'", "unexpected 'not'", 6),
]


@pytest.mark.parametrize("text, message, column", ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_syntax_errors_report_the_column(text, message, column):
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    err = info.value
    assert err.message == message
    assert err.column == column
    assert err.text == text
    assert str(err) == f"{message} at column {column}"
    assert isinstance(err, ValueError)


def test_a_rule_with_a_bad_condition_names_the_column():
    with pytest.raises(ValueError, match=r"condition 'tier = ': unexpected end of condition at column 8"):
        Rule(id="r", source="mobile-plan", target="mobile-line", when="tier = ")
