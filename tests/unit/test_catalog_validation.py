"""``ordertower catalog validate``: every kind of catalog error, reported as
``file:line: path: message`` with exit code 1; a valid catalog exits 0.

The broken catalogs live in tests/fixtures/catalogs/broken/<kind>/; each is the small
valid catalog in tests/fixtures/catalogs/valid-small/ (derived from the reference
catalog) with one mistake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordertower.adapters.catalog_files import REFERENCE_CATALOG
from ordertower.entrypoints.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs"
BROKEN = FIXTURES / "broken"
runner = CliRunner()

# kind (the fixture folder), file, line, path inside the document, message fragment
CASES = [
    ("unknown-rule-target", "telecom.yaml", 27, "rules[0].target",
     "unknown technical product 'sim-crd'"),
    ("unknown-scenario-system", "telecom.yaml", 58, "scenarios[1].items[0].system",
     "unknown system 'netwrk'"),
    ("unknown-after-ref", "telecom.yaml", 60, "scenarios[1].items[0].after[0]",
     "no scenario of 'sim-card' has an item 'shipp'"),
    ("unknown-auto-step", "telecom.yaml", 68, "scenarios[1].items[1].step",
     "unknown auto step 'assetise' (registered: assetize"),
    ("duplicate-id", "telecom.yaml", 18, "technical_products[1].id",
     "duplicate id 'sim-card' (first at technical_products[0])"),
    ("decomposition-cycle", "telecom.yaml", 40, "rules[2]",
     "decomposition cycle: mobile-line -> sim-card -> mobile-line"),
    ("plan-cycle", "telecom.yaml", 61, "scenarios[1].items[0].after",
     "plan cycle: mobile-line.activate -> sim-card.ship -> mobile-line.activate"),
    ("mapping-undeclared-attribute", "telecom.yaml", 36, "rules[1].mappings.speed",
     "maps to 'speed', which technical product 'mobile-line' does not declare"),
    ("bad-enum-default", "telecom.yaml", 8, "products[0].attributes[0]",
     "default 'premium': expected one of basic, unlimited, unlimited-plus"),
    ("invalid-yaml", "telecom.yaml", 31, None, "not valid YAML"),
    ("unknown-section", "telecom.yaml", 15, "technical_product",
     "unknown section (expected version, systems, products, technical_products, rules, "
     "scenarios, work_queues, assignment_rules)"),
    ("unknown-field", "systems.yaml", 12, "systems[1].timout", "Extra inputs are not permitted"),
    ("condition-syntax-error", "telecom.yaml", 28, "rules[0].when",
     "unexpected 'and' at column 20"),
    ("unknown-placeholder", "telecom.yaml", 62, "scenarios[1].items[0].request",
     "unknown placeholder '${speed}'"),
]


def validate(path: Path | str):
    return runner.invoke(app, ["catalog", "validate", str(path)])


def test_every_fixture_kind_is_in_the_table():
    assert sorted(p.name for p in BROKEN.iterdir() if p.is_dir()) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize("kind, file, line, path, fragment", CASES, ids=[c[0] for c in CASES])
def test_broken_catalog_is_reported(kind, file, line, path, fragment):
    result = validate(BROKEN / kind)
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    prefix = f"{file}:{line}: " + (f"{path}: " if path else "")
    matching = [ln for ln in lines if ln.startswith(prefix)]
    assert matching, f"no line starts with {prefix!r} in:\n{result.stdout}"
    assert fragment in matching[0], matching[0]
    # one mistake, one problem: no follow-on errors
    assert lines[-1] == f"1 problem found in {BROKEN / kind}"
    assert len(lines) == 2, result.stdout


def test_the_fixtures_base_catalog_is_valid():
    """Each broken fixture differs from this one by its mistake only."""
    result = validate(FIXTURES / "valid-small")
    assert result.exit_code == 0, result.output


def test_reference_catalog_is_valid():
    result = validate(REFERENCE_CATALOG)
    assert result.exit_code == 0, result.output
    assert "is valid" in result.stdout
    for label in ("version", "systems", "products", "technical products", "rules", "scenarios"):
        assert label in result.stdout


def test_a_single_file_is_named_as_given():
    path = BROKEN / "invalid-yaml" / "telecom.yaml"
    result = validate(path)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:31: not valid YAML")


def test_every_problem_is_listed_and_counted(tmp_path):
    for name in ("systems.yaml", "telecom.yaml"):
        shutil.copy(BROKEN / "unknown-rule-target" / name, tmp_path / name)
    text = (tmp_path / "telecom.yaml").read_text().replace("system: network", "system: netwrk")
    (tmp_path / "telecom.yaml").write_text(text)
    result = validate(tmp_path)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any("rules[0].target" in ln for ln in lines)
    assert any("scenarios[1].items[0].system" in ln for ln in lines)
    assert lines[-1] == f"2 problems found in {tmp_path}"


def test_missing_path_is_an_error(tmp_path):
    result = validate(tmp_path / "nowhere")
    assert result.exit_code == 1
    assert "no such file or folder" in result.stdout


def test_empty_folder_is_an_error(tmp_path):
    result = validate(tmp_path)
    assert result.exit_code == 1
    assert "no .yaml files" in result.stdout


def test_console_script_entry_point():
    """The installed ``ordertower`` script (or ``python -m``) runs the same command."""
    script = Path(sys.executable).parent / ("ordertower.exe" if os.name == "nt" else "ordertower")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "ordertower.entrypoints.cli"]
    kind = BROKEN / "unknown-rule-target"
    proc = subprocess.run([*command, "catalog", "validate", str(kind)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "telecom.yaml:27: rules[0].target: unknown technical product 'sim-crd'" in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"1 problem found in {kind}"
