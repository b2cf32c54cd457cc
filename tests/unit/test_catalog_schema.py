"""The JSON Schema of catalog files (``ordertower catalog schema``, docs/catalog.schema.json)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from ordertower.adapters.catalog_files import REFERENCE_CATALOG
from ordertower.domain.catalog import RetryPolicy, ScenarioItem, System
from ordertower.domain.durations import parse_duration
from ordertower.entrypoints.cli import app

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "catalog.schema.json"
FIXTURES = ROOT / "tests" / "fixtures" / "catalogs"
runner = CliRunner()


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_committed_schema_is_what_the_command_prints():
    result = runner.invoke(app, ["catalog", "schema"])
    assert result.exit_code == 0, result.output
    assert result.stdout == COMMITTED.read_text(encoding="utf-8"), \
        "docs/catalog.schema.json is stale: run `ordertower catalog schema -o docs/catalog.schema.json`"


def test_schema_command_writes_a_file(tmp_path):
    out = tmp_path / "sub" / "catalog.schema.json"
    result = runner.invoke(app, ["catalog", "schema", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")


REFERENCE_FILES = sorted(REFERENCE_CATALOG.glob("*.yaml"))


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=[p.name for p in REFERENCE_FILES])
def test_reference_catalog_files_validate(validator, path):
    assert errors(validator, load(path)) == []


@pytest.mark.parametrize("name", ["systems.yaml", "telecom.yaml"])
def test_fixture_base_files_validate(validator, name):
    assert errors(validator, load(FIXTURES / "valid-small" / name)) == []


def test_the_top_level_sections_are_all_optional(validator):
    assert errors(validator, {}) == []
    assert errors(validator, {"version": "1"}) == []
    assert errors(validator, {"version": 3}) == []


def test_unknown_section_fails(validator):
    doc = load(FIXTURES / "broken" / "unknown-section" / "telecom.yaml")
    found = errors(validator, doc)
    assert any("technical_product" in e and "Additional properties" in e for e in found), found


def test_unknown_field_fails(validator):
    doc = load(FIXTURES / "broken" / "unknown-field" / "systems.yaml")
    found = errors(validator, doc)
    assert any(e.startswith("systems/1") and "timout" in e for e in found), found


def test_a_rule_source_is_one_id_or_a_list(validator):
    rule = {"id": "r", "target": "t"}
    assert errors(validator, {"rules": [dict(rule, source="a")]}) == []
    assert errors(validator, {"rules": [dict(rule, source=["a", "b"])]}) == []
    assert errors(validator, {"rules": [dict(rule, source=3)]}) != []


def test_mappings_use_the_yaml_names(validator):
    rule = {"id": "r", "source": "a", "target": "t",
            "mappings": {"x": {"copy": "y"}, "z": {"from": "y", "values": {"a": 1}, "default": 2}}}
    assert errors(validator, {"rules": [rule]}) == []


# --- durations ----------------------------------------------------------------------

GOOD_DURATIONS = ["5s", "500ms", "1h30m", "2d", "1w", "10m", "1.5s", "2h 30m", 5, 0, 0.25]
BAD_DURATIONS = ["5", "5 parsecs", "s", "", "-5s", -1, True, None, [1]]


@pytest.mark.parametrize("value", GOOD_DURATIONS, ids=repr)
def test_durations_the_loader_reads_validate(validator, value):
    parse_duration(value)  # the loader reads it ...
    doc = {"systems": [{"id": "s", "base_url": "http://x", "timeout": value,
                        "retry": {"strategy": "staggered", "intervals": [value, "1m"]}}],
           "scenarios": [{"product": "p", "items": [{"id": "i", "type": "milestone",
                                                      "expected_duration": value}]}]}
    assert errors(validator, doc) == []  # ... and so does the schema


@pytest.mark.parametrize("value", BAD_DURATIONS, ids=repr)
def test_durations_the_loader_refuses_fail(validator, value):
    with pytest.raises((ValueError, TypeError)):
        if value is None:
            raise ValueError  # null is refused where a duration is required
        parse_duration(value)
    assert errors(validator, {"systems": [{"id": "s", "base_url": "http://x", "timeout": value}]})


def test_duration_defaults_are_written_as_in_catalogs(schema):
    policy = schema["$defs"]["RetryPolicy"]["properties"]
    assert policy["initial"]["default"] == "1s"
    assert policy["cap"]["default"] == "5m"
    assert schema["$defs"]["System"]["properties"]["timeout"]["default"] == "10s"
    assert "PT" not in json.dumps(schema)  # no ISO 8601 left over from Pydantic's default


def test_duration_fields_parse_short_forms():
    assert System(id="s", base_url="http://x", timeout="1h30m").timeout == timedelta(minutes=90)
    assert ScenarioItem(id="i", type="milestone", expected_duration=90).expected_duration \
        == timedelta(seconds=90)


def test_a_dumped_retry_policy_reads_back():
    """Plans store ``retry.model_dump(mode="json")`` (ISO 8601 durations); it must load again."""
    for policy in (RetryPolicy(strategy="fixed", interval="30s"),
                   RetryPolicy(strategy="staggered", intervals=["5s", "1m", "1h"]),
                   RetryPolicy(strategy="exponential", initial="500ms", cap="2m", factor=3),
                   RetryPolicy(strategy="none")):
        dumped = policy.model_dump(mode="json")
        assert RetryPolicy.model_validate(dumped) == policy
        assert RetryPolicy.model_validate(json.loads(json.dumps(dumped))) == policy
