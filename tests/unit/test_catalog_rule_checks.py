"""Catalog validation of decomposition in depth, table-driven: each mistake in a copy of the
reference catalog is reported once, as ``file:line: path: message``; syntax errors in a
rule's condition or expression also name the rule and the column."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from ordertower.adapters.catalog_files import CatalogLoadError, load_catalog
from ordertower.engine.steps import registered_steps

from ..support.catalogs import write_catalog


def rule(docs: dict[str, Any], file: str, rule_id: str) -> dict[str, Any]:
    return next(r for r in docs[file]["rules"] if r["id"] == rule_id)


def scenario_item(docs, file, product, action, item_id) -> dict[str, Any]:
    sc = next(s for s in docs[file]["scenarios"] if s["product"] == product and s["action"] == action)
    return next(i for i in sc["items"] if i["id"] == item_id)


Change = Callable[[dict[str, Any]], None]
CASES: list[tuple[str, Change, str, str, str]] = [
    ("child scope broader than its parent",
     lambda d: rule(d, "broadband.yaml", "access-needs-line").update(scope="account"),
     "broadband.yaml", "rules[1].scope",
     "scope 'account' is broader than scope 'item' of rule 'broadband-is-access', which makes "
     "its source 'internet-access'"),
    ("expression syntax error",
     lambda d: rule(d, "broadband.yaml", "access-needs-line")["mappings"].update(
         speed_kbps={"expression": "speed_mbps ** 1000"}),
     "broadband.yaml", "rules[1].mappings.speed_kbps.expression",
     "rule 'access-needs-line': expression 'speed_mbps ** 1000': unexpected '*' at column 13"),
    ("condition syntax error",
     lambda d: rule(d, "broadband.yaml", "broadband-technician").update(when="install = = 'x'"),
     "broadband.yaml", "rules[3].when",
     "rule 'broadband-technician': condition \"install = = 'x'\": unexpected '=' at column 11"),
    ("unknown function",
     lambda d: rule(d, "broadband.yaml", "broadband-is-billed")["mappings"].update(
         plan={"expression": "join('x', speed_mbps)"}),
     "broadband.yaml", "rules[4].mappings.plan.expression", "unknown function 'join'"),
    ("related item that is no product",
     lambda d: rule(d, "energy.yaml", "smart-meter-is-installed").update(when="house.meter = 'smart'"),
     "energy.yaml", "rules[2].when",
     "condition reads 'house.meter': a related item is written product.attribute, and 'house' "
     "is not a product"),
    ("related attribute not declared",
     lambda d: rule(d, "telecom.yaml", "plan-needs-sim")["mappings"].update(
         sim_type={"copy": "mobile-plan.sim"}),
     "telecom.yaml", "rules[1].mappings.sim_type", "reads 'mobile-plan.sim', which 'mobile-plan' "
                                                   "does not declare"),
    ("expression reading an undeclared attribute",
     lambda d: rule(d, "energy.yaml", "smart-meter-is-installed")["mappings"].update(
         install_by={"expression": "move_date - 7"}),
     "energy.yaml", "rules[2].mappings.install_by",
     "reads 'move_date', which electricity-supply, gas-supply does not declare"),
    ("two kinds in one mapping",
     lambda d: rule(d, "telecom.yaml", "plan-is-billed")["mappings"].update(
         plan={"copy": "tier", "expression": "upper(tier)"}),
     "telecom.yaml", "rules[3].mappings.plan",
     "a mapping needs exactly one of: copy, constant, from + values, expression"),
    ("value list key that the related enum lacks",
     lambda d: rule(d, "telecom.yaml", "plan-activates-line")["mappings"].update(
         speed_profile={"from": "mobile-plan.tier", "values": {"gold": "x"}}),
     "telecom.yaml", "rules[2].mappings.speed_profile.values.gold",
     "'gold' is not a value of mobile-plan.tier (basic, unlimited, unlimited-plus)"),
    ("previous value of an undeclared attribute",
     lambda d: scenario_item(d, "telecom.yaml", "mobile-line", "modify", "change")["request"]["body"]
     .update(old="${previous.colour}"),
     "telecom.yaml", "scenarios[4].items[0].request", "unknown placeholder '${previous.colour}'"),
]


@pytest.mark.parametrize("kind, change, file, path, message", CASES, ids=[c[0] for c in CASES])
def test_a_decomposition_mistake_is_reported_once_at_its_place(tmp_path, kind, change, file, path, message):
    folder = write_catalog(tmp_path / "catalog", change)
    with pytest.raises(CatalogLoadError) as refused:
        load_catalog(folder, known_steps=registered_steps())

    [problem] = refused.value.problems
    assert re.fullmatch(rf"{re.escape(file)}:\d+: {re.escape(path)}: .*", str(problem)), str(problem)
    assert message in problem.message


def test_previous_values_of_declared_attributes_are_valid_placeholders():
    catalog = load_catalog().catalog  # the reference uses ${previous.address} for a move

    body = next(s for s in catalog.scenarios if (s.product, s.action) == ("supply-registration", "modify"))
    assert body.items[0].request.body["address"] == "${previous.address}"
