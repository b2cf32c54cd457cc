"""``catalog validate`` against the two catalog mistakes that leave a customer's inventory
or bill wrong without any error (issue 10, defects 3 and 4):

- a line's attribute that depends on the order item's ``action`` (directly, or through an
  attribute of another line) is refused, with file:line and why: a later ``noChange`` or
  ``modify`` order would see another value and run a spurious ``modify``;
- a mapping into a shared line (root, order or account scope) that several order items can
  feed with different values, and that says nothing of how to merge them, is a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ordertower.adapters.catalog_files import REFERENCE_CATALOG
from ordertower.entrypoints.cli import app

from ..support.catalogs import write_catalog

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def validate(path: Path):
    return runner.invoke(app, ["catalog", "validate", str(path)])


def router_rule(docs: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in docs["broadband.yaml"]["rules"] if r["id"] == "broadband-needs-router")


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_mapping_the_action_into_an_attribute_is_refused_with_file_and_line(tmp_path):
    def pitfall(docs):
        docs["broadband.yaml"]["technical_products"][2]["attributes"].append({"name": "act", "type": "string"})
        router_rule(docs)["mappings"]["act"] = {"expression": "action"}

    folder = write_catalog(tmp_path / "pitfall", pitfall)
    result = validate(folder)

    assert result.exit_code == 1, result.output
    [problem, count] = result.stdout.splitlines()
    line = line_of(folder / "broadband.yaml", "expression: action")
    assert problem.startswith(f"broadband.yaml:{line}: rules[2].mappings.act: ")
    assert "depends on the order item's action" in problem and "noChange" in problem
    assert count == f"1 problem found in {folder}"


def test_an_attribute_depending_on_the_action_through_another_line_is_refused(tmp_path):
    def hidden(docs):  # internet-access.install_kind <- action; broadband-line reads it
        tps = {tp["id"]: tp for tp in docs["broadband.yaml"]["technical_products"]}
        tps["internet-access"]["attributes"].append({"name": "order_kind", "type": "string"})
        tps["broadband-line"]["attributes"].append({"name": "work", "type": "string"})
        rules = {r["id"]: r for r in docs["broadband.yaml"]["rules"]}
        rules["broadband-is-access"]["mappings"]["order_kind"] = {
            "expression": "if action = 'add' then 'new' else 'change'"}
        rules["access-needs-line"]["mappings"]["work"] = {"expression": "concat('line ', order_kind)"}

    result = validate(write_catalog(tmp_path / "hidden", hidden))

    assert result.exit_code == 1, result.output
    problems = result.stdout.splitlines()[:-1]
    assert [p.split(": ")[1] for p in problems] == ["rules[0].mappings.order_kind",
                                                     "rules[1].mappings.work"]
    assert "through internet-access.order_kind" in problems[1]


def test_a_shared_line_fed_by_several_items_without_a_merge_policy_is_a_warning(tmp_path):
    def unmerged(docs):
        rule = router_rule(docs)
        rule["mappings"] = {"model": {"expression": rule["mappings"]["model"]["expression"]},
                            "address": {"copy": "address"}}

    folder = write_catalog(tmp_path / "unmerged", unmerged)
    result = validate(folder)

    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.stdout.splitlines() if "warning" in ln]
    assert len(warnings) == 2
    assert warnings[0].startswith(f"broadband.yaml:{line_of(folder / 'broadband.yaml', 'expression: if speed_mbps')}: "
                                  "rules[2].mappings.model: warning: ")
    assert "scope 'root'" in warnings[0] and "merge" in warnings[0]


def test_the_reference_catalog_validates_without_problems_or_warnings():
    result = validate(REFERENCE_CATALOG)

    assert result.exit_code == 0, result.output
    assert "warning" not in result.stdout


def test_the_examples_are_still_explained_against_the_reference_catalog():
    for example in sorted(EXAMPLES.glob("*.json")):
        result = runner.invoke(app, ["catalog", "explain", str(example)])
        assert result.exit_code == 0, (example, result.output)
