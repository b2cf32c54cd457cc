"""The Catalog page and its explorer in a browser (Playwright driving Debian's Chromium),
against a live server of the reference catalog: a pasted order shows its decomposition and
its plan (drawn by Mermaid), as `ordertower catalog explain` does; bad JSON is shown, not
stored. A screenshot of each test's last page is kept (console fixture)."""

from __future__ import annotations

import json

from tests.support.live import ORDERS, SEED_ORDER


def test_the_catalog_page_lists_products_rules_and_scenarios(console):
    page = console.open("/console/catalog")

    for product in ("phone", "mobile-plan", "broadband", "electricity-supply"):
        assert page.locator(f"tr[data-product='{product}']").count() == 1
    assert page.locator("tr[data-rule='plan-activates-line']").count() == 1
    assert page.locator("tr[data-scenario='mobile-line:add']").inner_text().count("PONR") == 1


def test_the_explorer_shows_the_decomposition_and_plan_of_a_pasted_order(console):
    page = console.open("/console/catalog/explorer")
    page.fill("textarea[name=order]", json.dumps(SEED_ORDER, indent=2))
    page.click("button[type=submit]:has-text('Explain')")

    tree = page.locator("#decomposition")
    tree.wait_for()
    for product in ("device-shipment", "sim-card", "mobile-line", "billing-subscription", "billing-account"):
        assert product in tree.inner_text()
    assert "speed_profile = \"5g-300mbps\"" in tree.inner_text()  # a value list on the tier
    assert page.locator("#decomposition li.rule.fired[data-rule='plan-activates-line']").count() == 1
    keys = page.locator("tr[data-plan-item]").evaluate_all("rows => rows.map(r => r.dataset.planItem)")
    assert len(keys) == 7 and "2/mobile-line#activate" in keys
    page.wait_for_selector("#plan-graph[data-rendered='true'] svg")
    assert console.server.client.get(ORDERS).json() == []  # nothing stored
    assert console.csp_violations() == []


def test_the_explorer_names_what_is_wrong_with_a_pasted_order(console):
    page = console.open("/console/catalog/explorer")
    page.fill("textarea[name=order]", '{"productOrderItem": [')
    page.click("button[type=submit]:has-text('Explain')")
    assert "not JSON" in page.locator("#explain-error").inner_text()

    unknown = {"relatedParty": [{"id": "c", "role": "customer"}],
               "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": "teleporter"}}]}
    page.fill("textarea[name=order]", json.dumps(unknown))
    page.click("button[type=submit]:has-text('Explain')")
    error = page.locator("#explain-error").inner_text()
    assert "productOrderItem[0].productOffering.id: unknown product offering 'teleporter'" in error
    assert page.locator("#decomposition").count() == 0
