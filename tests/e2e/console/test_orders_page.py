"""The Orders page in a browser: live updates from the event stream."""

from __future__ import annotations

from tests.support.browser import ConsolePage


def test_an_order_placed_through_the_api_appears_in_the_list_without_a_reload(console: ConsolePage):
    page = console.open("/console/orders")
    page.wait_for_selector("[sse-connect]")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloaded

    order_id = console.server.post_order().json()["id"]

    row = page.locator(f'#order-rows tr[data-order="{order_id}"]')
    row.wait_for(timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True
    assert row.locator("a").get_attribute("href") == f"/console/orders/{order_id}"
    console.server.wait_for(order_id)
    page.locator(f'#order-rows tr[data-order="{order_id}"][data-state="completed"]').wait_for(timeout=20_000)
    assert console.csp_violations() == []
