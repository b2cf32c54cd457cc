"""The explorer (``ordertower catalog explain``) and ``ordertower catalog diff``: what an order
would become and what a new catalog changes, with nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordertower.adapters.catalog_files import load_catalog
from ordertower.domain.catalog_diff import diff_catalogs
from ordertower.domain.explain import explain
from ordertower.domain.orders import ItemInput, validate_items
from ordertower.entrypoints.cli import app

from ..support.catalogs import write_catalog

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "phone-and-plan.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def reference():
    return load_catalog()


def explained(reference, *inputs):
    items = validate_items(list(inputs), reference.catalog)
    return explain(items, reference.catalog, "cust-42", None, catalog_version=reference.version).as_dict()


def rule_node(node, rule_id):
    return next(r for r in node["rules"] if r["rule"] == rule_id)


def test_the_seed_order_is_explained_rule_by_rule_with_mapped_values_and_its_plan(reference):
    ex = explained(reference, ItemInput("1", "add", "phone", (("model", "Fairphone 5"), ("color", "blue"))),
                   ItemInput("2", "add", "mobile-plan", (("tier", "unlimited"),)))
    phone, plan = ex["items"]

    shipment = rule_node(phone, "phone-ships-device")
    assert shipment["fired"] and shipment["why"] == "no condition"
    assert shipment["line"]["attributes"]["model"] == {"value": "Fairphone 5", "how": "copy of model"}
    assert shipment["line"]["plan_items"] == ["1/device-shipment#ship"]
    line = rule_node(plan, "plan-activates-line")["line"]
    assert line["attributes"]["speed_profile"] == {"value": "5g-300mbps",
                                                   "how": "value list on tier = 'unlimited'"}
    assert line["attributes"]["port_number"] == {"value": None,
                                                 "how": "copy of port_number (port_number is missing)"}
    # the account line is shared: shown in full once, referred to afterwards
    assert "attributes" in rule_node(phone, "billable-needs-account")["line"]
    assert rule_node(plan, "billable-needs-account")["line"]["shared"] is True
    assert len(ex["plan"]["items"]) == 7 and ex["plan"]["problems"] == []
    assert ex["stored"] is False and ex["catalog_version"] == reference.version


def test_the_explorer_says_why_a_rule_did_not_fire_and_follows_every_level(reference):
    ex = explained(reference, ItemInput("1", "add", "broadband", (("speed_mbps", "500"), ("address", "Main 1"))))
    [broadband] = ex["items"]

    technician = rule_node(broadband, "broadband-technician")
    assert technician == {"rule": "broadband-technician", "fired": False, "line": None,
                          "why": "condition is false: install = 'technician'"}
    access = rule_node(broadband, "broadband-is-access")["line"]
    line = rule_node(access, "access-needs-line")["line"]  # commercial -> service -> resource
    assert line["id"] == "1/internet-access/broadband-line"
    assert line["attributes"]["speed_kbps"] == {"value": 500000, "how": "expression speed_mbps * 1000"}
    assert access["plan_items"] == []  # an intermediate product: its children carry the work


def test_an_order_the_catalog_cannot_plan_is_still_explained_with_the_reason(reference, tmp_path):
    def unplannable(docs):  # a new technical product, and no scenario for it yet
        docs["telecom.yaml"]["technical_products"].append({"id": "esim-profile"})
        docs["telecom.yaml"]["rules"].append({"id": "plan-has-profile", "source": "mobile-plan",
                                              "target": "esim-profile"})

    catalog = load_catalog(write_catalog(tmp_path / "c", unplannable))
    ex = explained(catalog, ItemInput("2", "add", "mobile-plan", (("tier", "basic"),)))

    assert ex["plan"]["items"] == []
    assert ex["plan"]["problems"] == [{"field": "line 2/esim-profile",
                                       "message": "no orchestration scenario for esim-profile/add"}]
    assert rule_node(ex["items"][0], "plan-has-profile")["fired"] is True


def test_catalog_explain_draws_the_tree_and_the_plan():
    result = runner.invoke(app, ["catalog", "explain", str(SEED)])

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "item 1: add phone  model='Fairphone 5'  color='blue'" in out
    assert "rule phone-ships-device fired -> add 1/device-shipment" in out
    assert "speed_profile = '5g-300mbps'  <- value list on tier = 'unlimited'" in out
    assert "rule billable-needs-account fired -> add account:cust-42/billing-account (shared, above)" in out
    assert "plan: 7 items" in out and "2/mobile-line#activate" in out


def test_catalog_explain_prints_json_and_refuses_a_bad_order(tmp_path):
    as_json = json.loads(runner.invoke(app, ["catalog", "explain", str(SEED), "--json"]).stdout)
    assert [i["item"] for i in as_json["items"]] == ["1", "2"]

    bad = json.loads(SEED.read_text())
    bad["productOrderItem"][1]["product"]["productCharacteristic"][0]["value"] = "gold"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    result = runner.invoke(app, ["catalog", "explain", str(tmp_path / "bad.json")])
    assert result.exit_code == 1
    assert "productOrderItem[1].product.productCharacteristic[0].value: tier: expected one of" in result.output


def _new_version(docs):
    docs["systems.yaml"]["version"] = "2026.12.0"
    line = next(r for r in docs["telecom.yaml"]["rules"] if r["id"] == "plan-activates-line")
    line["mappings"]["speed_profile"]["values"]["unlimited"] = "5g-500mbps"
    docs["telecom.yaml"]["rules"] = [r for r in docs["telecom.yaml"]["rules"] if r["id"] != "phone-ships-device"]
    docs["telecom.yaml"]["products"].append({"id": "tablet", "attributes": []})
    activation = next(s for s in docs["telecom.yaml"]["scenarios"]
                      if (s["product"], s["action"]) == ("mobile-line", "add"))
    activation["items"][0]["request"]["path"] = "/lines/activate-v2"


def test_catalog_diff_lists_what_a_new_version_changes(reference, tmp_path):
    new = load_catalog(write_catalog(tmp_path / "new", _new_version))
    diff = diff_catalogs(reference.catalog, new.catalog)

    assert [str(c) for c in diff.changes] == [
        "+ product tablet", "- rule phone-ships-device", "~ rule plan-activates-line",
        "~ scenario mobile-line/add"]
    assert [str(f) for f in diff.changes[2].fields] == [
        "mappings.speed_profile.values.unlimited: '5g-300mbps' -> '5g-500mbps'"]
    assert [str(f) for f in diff.changes[3].fields] == [
        "items[activate].request.path: '/lines/activate' -> '/lines/activate-v2'"]


def test_catalog_diff_command_prints_the_changes(tmp_path):
    from ordertower.adapters.catalog_files import REFERENCE_CATALOG

    new = write_catalog(tmp_path / "new", _new_version)
    result = runner.invoke(app, ["catalog", "diff", str(REFERENCE_CATALOG), str(new)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("catalog 2026.11.1+") and " -> 2026.12.0+" in lines[0]
    assert "~ rule plan-activates-line" in lines
    assert "    mappings.speed_profile.values.unlimited: '5g-300mbps' -> '5g-500mbps'" in lines
    same = runner.invoke(app, ["catalog", "diff", str(REFERENCE_CATALOG), str(REFERENCE_CATALOG)])
    assert same.stdout.splitlines()[1] == "no changes to products, rules, scenarios or systems"


def test_the_readme_shows_catalog_explain_of_the_seed_order():
    import re

    drawn = runner.invoke(app, ["catalog", "explain", str(SEED)]).stdout
    shown = (ROOT / "README.md").read_text(encoding="utf-8")
    version = re.compile(r"catalog \d[\w.]*\+[0-9a-f]{12}")
    for line in drawn.rstrip().splitlines():
        assert version.sub("catalog V", line.rstrip()) in version.sub("catalog V", shown), \
            f"README.md is stale: re-run `ordertower catalog explain examples/phone-and-plan.json` ({line!r})"
