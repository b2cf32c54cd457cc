"""``ordertower catalog validate`` reports every problem of a catalog in one run, whatever
stage found it (a file that is not YAML, an element of the wrong shape, a reference to nothing),
names a misspelt name's likely meaning ("did you mean"), and marks an error that only follows
from another (a knock-on) as such."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordertower.adapters.catalog_files import CatalogLoadError, load_catalog
from ordertower.engine.steps import StepRegistry
from ordertower.entrypoints.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs"
runner = CliRunner()


def small_catalog(folder: Path, *edits: tuple[str, str], files: dict[str, str] | None = None) -> Path:
    """The small valid catalog with ``edits`` (old, new) applied to its telecom.yaml."""
    shutil.copytree(FIXTURES / "valid-small", folder)
    text = (folder / "telecom.yaml").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    (folder / "telecom.yaml").write_text(text)
    for name, content in (files or {}).items():
        (folder / name).write_text(content)
    return folder


def several_mistakes(folder: Path) -> Path:
    return small_catalog(
        folder,
        # an element of the wrong shape (stage 1), and its id is still known to the others
        ("        values: [basic, unlimited, unlimited-plus]\n        required: true",
         "        values: [basic, unlimited, unlimited-plus]\n        default: premium"),
        # references to nothing (stage 2), each misspelt
        ("system: network", "system: netwrk"),
        ("step: assetize", "step: assetise"),
        ("after: [activate]", "after: [activte]"),
        # a rule whose target is declared in a file that is not valid YAML: a knock-on
        ("  - id: plan-activates-line",
         "  - id: plan-has-profile\n    source: mobile-plan\n    target: esim-profile\n"
         "  - id: plan-activates-line"),
        files={"extra.yaml": "technical_products:\n  - id: esim-profile\n    attributes: [\n"})


def test_several_independent_mistakes_are_all_reported_in_one_run_and_the_knock_on_is_marked(tmp_path):
    folder = several_mistakes(tmp_path / "c")
    result = runner.invoke(app, ["catalog", "validate", str(folder)])

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "extra.yaml:4: not valid YAML: expected the node content, but found '<stream end>'",
        "telecom.yaml:8: products[0].attributes[0]: default 'premium': expected one of basic, "
        "unlimited, unlimited-plus; got 'premium'",
        "telecom.yaml:61: scenarios[1].items[0].system: unknown system 'netwrk'; did you mean 'network'?",
        "telecom.yaml:71: scenarios[1].items[1].step: item 'record': unknown auto step 'assetise' "
        "(registered: assetize, plan-order, reserve-number); did you mean 'assetize'?",
        "telecom.yaml:72: scenarios[1].items[1].after[0]: unknown item 'activte' in this scenario; "
        "did you mean 'activate'?",
        "telecom.yaml:33: rules[1].target: unknown technical product 'esim-profile' "
        "[knock-on: extra.yaml could not be read, and it names 'esim-profile']",
        f"6 problems found in {folder} (1 of them knock-on)",
    ]


def test_naming_an_element_that_failed_its_own_checks_is_no_further_error(tmp_path):
    """mobile-plan's attribute is wrong; the rules whose source it is are not 'unknown product'."""
    folder = small_catalog(tmp_path / "c", ("        required: true", "        default: premium"))
    with pytest.raises(CatalogLoadError) as caught:
        load_catalog(folder)
    assert [p.path for p in caught.value.problems] == ["products[0].attributes[0]"]


def test_a_misspelt_field_and_section_get_did_you_mean(tmp_path):
    folder = small_catalog(tmp_path / "c", ("        ponr: true", "        ponnr: true"),
                           ("technical_products:", "technical_product:"))
    with pytest.raises(CatalogLoadError) as caught:
        load_catalog(folder)
    messages = {p.path: p.message for p in caught.value.problems}
    assert messages["scenarios[1].items[0].ponnr"].endswith("; did you mean 'ponr'?")
    # the section is read as the one it most likely means: its products are still checked
    assert "did you mean 'technical_products'?" in messages["technical_product"]
    assert len(messages) == 2


def test_misspelt_references_of_every_kind_get_did_you_mean(tmp_path):
    folder = small_catalog(
        tmp_path / "c", ("    target: sim-card", "    target: sim-crd"),
        ("      tier: {copy: tier}", "      tier: {copy: teir}"),
        ("after: [sim-card.ship]", "after: [sim-card.shipp]"),
        ('speed_profile: "${speed_profile}"}', 'speed_profile: "${speed_profil}"}'),
        ("outputs: {msisdn: msisdn}", "outputs: {msidsn: msisdn}"))
    with pytest.raises(CatalogLoadError) as caught:
        load_catalog(folder)
    hints = sorted(p.message.rsplit("; ", 1)[-1] for p in caught.value.problems)
    assert hints == ["did you mean 'msisdn'?", "did you mean 'ship'?", "did you mean 'sim-card'?",
                     "did you mean 'speed_profile'?", "did you mean 'tier'?"]


def test_a_step_installed_but_unavailable_is_refused_with_the_reason(tmp_path):
    folder = small_catalog(tmp_path / "c", ("step: assetize", "step: reserve-number"))
    steps = StepRegistry({"assetize": lambda ctx: None}, {}, {
        "reserve-number": "plug-in numbering: x:y failed to load: ImportError: no module x"})
    with pytest.raises(CatalogLoadError) as caught:
        load_catalog(folder, known_steps=steps)
    [problem] = caught.value.problems
    assert problem.path == "scenarios[1].items[1].step"
    assert problem.message == ("item 'record': unknown auto step 'reserve-number' (registered: assetize); "
                               "it is installed but unavailable: plug-in numbering: x:y failed to load: "
                               "ImportError: no module x")
