"""Tools for catalog authors: ``catalog diff --exit-code`` for CI, durations shown as catalog
files write them, ``catalog explain`` as wide as the terminal, and the plan an order would get
drawn as Mermaid or DOT (one node per plan item, one edge per dependency)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from ordertower.adapters.catalog_files import REFERENCE_CATALOG, load_catalog
from ordertower.domain.catalog_diff import diff_catalogs
from ordertower.entrypoints.cli import app
from ordertower.entrypoints.cli_explain import draw_tree, explain_console, plan_table

from ..support.catalogs import system, write_catalog

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "phone-and-plan.json"
runner = CliRunner()


def slower_network(docs):
    system(docs, "network")["timeout"] = "10s"
    system(docs, "network")["retry"]["initial"] = "1500ms"


# --- catalog diff ---------------------------------------------------------------------------

def test_diff_exit_code_is_0_when_nothing_changed_and_1_when_something_did(tmp_path):
    same = runner.invoke(app, ["catalog", "diff", "--exit-code", str(REFERENCE_CATALOG), str(REFERENCE_CATALOG)])
    assert same.exit_code == 0, same.output

    changed = write_catalog(tmp_path / "new", slower_network)
    result = runner.invoke(app, ["catalog", "diff", "--exit-code", str(REFERENCE_CATALOG), str(changed)])
    assert result.exit_code == 1
    assert "~ system network" in result.stdout.splitlines()
    as_json = runner.invoke(app, ["catalog", "diff", "--exit-code", "--json", str(REFERENCE_CATALOG), str(changed)])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["changes"][0]["id"] == "network"
    # without the flag a difference is no failure
    assert runner.invoke(app, ["catalog", "diff", str(REFERENCE_CATALOG), str(changed)]).exit_code == 0


def test_diff_exit_code_says_2_when_a_catalog_cannot_be_read(tmp_path):
    (tmp_path / "bad.yaml").write_text("systems: [\n")
    result = runner.invoke(app, ["catalog", "diff", "--exit-code", str(REFERENCE_CATALOG), str(tmp_path)])
    assert result.exit_code == 2
    assert "not valid YAML" in result.stderr


def test_diff_shows_durations_as_catalog_files_write_them(tmp_path):
    new = load_catalog(write_catalog(tmp_path / "new", slower_network))
    diff = diff_catalogs(load_catalog().catalog, new.catalog)

    [change] = diff.changes
    assert [str(f) for f in change.fields] == ["timeout: 5s -> 10s", "retry.initial: 1s -> 1500ms"]
    assert "PT" not in "\n".join(diff.lines())
    assert diff.as_dict()["changes"][0]["fields"][0] == {"path": "timeout", "old": "5s", "new": "10s"}


# --- catalog explain: durations, width and diagrams -----------------------------------------

def test_explain_shows_each_items_expected_duration_as_the_catalog_writes_it():
    plan = _plan(json.loads(_explain("--json")))
    assert plan["2/mobile-line#activate"]["expected_duration"] == "1h"  # telecom.yaml: 1h
    assert plan["1/device-shipment#ship"]["expected_duration"] == "2d"
    text = _explain()
    row = next(line for line in text.splitlines() if "2/mobile-line#activate" in line and "callout" in line)
    assert row.split("│")[-2].strip() == "1h" and "PT" not in text


def test_explain_fits_the_terminals_width():
    ex = json.loads(runner.invoke(app, ["catalog", "explain", str(SEED), "--json"]).stdout)
    heights = {}
    for columns in (60, 140):
        out = io.StringIO()
        console = explain_console(None, Console(file=out, width=columns, force_terminal=True,
                                                color_system=None))
        assert console.width == columns
        console.print(draw_tree(ex), soft_wrap=False)
        console.print(plan_table(ex))
        lines = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()  # colours aside
        assert max(len(line) for line in lines) <= columns
        heights[columns] = len(lines)
    assert heights[60] > heights[140]  # a narrow terminal wraps what a wide one does not
    # not a terminal (a file, a pipe, this test's runner): the same width wherever it runs
    assert explain_console(None, Console(file=io.StringIO(), width=60)).width == 124
    assert explain_console(72).width == 72


def _plan(reference_json):
    return {p["key"]: p for p in reference_json["plan"]["items"]}


def _explain(*args):
    result = runner.invoke(app, ["catalog", "explain", str(SEED), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_explain_draws_the_plan_as_mermaid_with_a_node_per_item_and_an_edge_per_dependency():
    plan = _plan(json.loads(_explain("--json")))
    text = _explain("--format", "mermaid")

    lines = text.strip().splitlines()
    assert lines[0] == "flowchart LR"
    nodes = {}
    for m in re.finditer(r'^  (n\d+)(\[\[?)"(.*?)"\]\]?$', text, re.M):
        key = m.group(3).split("<br/>")[0].replace("№", "#")
        nodes[m.group(1)] = key
        assert (m.group(2) == "[[") == plan[key]["ponr"]  # the point of no return: a double border
    assert sorted(nodes.values()) == sorted(plan)
    edges = {(nodes[a], nodes[b]) for a, b in re.findall(r"^  (n\d+) --> (n\d+)$", text, re.M)}
    assert edges == {(dep, key) for key, p in plan.items() for dep in p["depends_on"]}
    # every line is a header, a node, an edge or a PONR style: nothing Mermaid would not parse
    assert all(re.match(r'^  (n\d+(\[\[?".*"\]\]?| --> n\d+)|style n\d+ stroke-width:4px)$', line)
               for line in lines[1:]), text


def test_explain_draws_the_plan_as_dot_with_a_node_per_item_and_an_edge_per_dependency():
    plan = _plan(json.loads(_explain("--json")))
    text = _explain("--format", "dot")

    assert text.startswith('digraph "plan" {') and text.rstrip().endswith("}")
    nodes = {}
    for m in re.finditer(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", tooltip="([^"]*)"(.*)\];$', text, re.M):
        nodes[m.group(1)] = m.group(3)
        assert m.group(2).split("\\n")[0] == m.group(3)
        assert ("peripheries=2" in m.group(4)) == plan[m.group(3)]["ponr"]
    assert sorted(nodes.values()) == sorted(plan)
    edges = {(nodes[a], nodes[b]) for a, b in re.findall(r"^  (n\d+) -> (n\d+);$", text, re.M)}
    assert edges == {(dep, key) for key, p in plan.items() for dep in p["depends_on"]}
    assert text.count("{") == text.count("}") == 1


def test_a_plan_that_cannot_be_built_has_no_diagram_but_the_reason(tmp_path):
    def unplannable(docs):
        docs["telecom.yaml"]["technical_products"].append({"id": "esim-profile"})
        docs["telecom.yaml"]["rules"].append({"id": "plan-has-profile", "source": "mobile-plan",
                                              "target": "esim-profile"})

    catalog = write_catalog(tmp_path / "c", unplannable)
    result = runner.invoke(app, ["catalog", "explain", str(SEED), "--catalog", str(catalog),
                                 "--format", "dot"])
    assert result.exit_code == 1
    assert "no orchestration scenario for esim-profile/add" in result.stderr
