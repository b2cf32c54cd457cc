"""The console's order pages over HTTP: the list's filters, and the order's actions (amend,
cancel) going through the same use cases as the API, as the logged-in key."""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from ..support.live import SEED_ORDER, start_server

ADMIN = "otk_console_orders_admin"


@pytest.fixture
def secured(database_url):
    server = start_server(database_url, auth=True, bootstrap_key=ADMIN)
    yield server
    server.stop()


def _log_in(server) -> httpx.Client:
    browser = httpx.Client(base_url=server.url, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/console/login").text).group(1)
    assert browser.post("/console/login", data={"key": ADMIN, "csrf_token": token}).status_code == 303
    return browser


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _listed(browser, **params) -> list[str]:
    resp = browser.get("/console/orders", params=params)
    assert resp.status_code == 200, resp.text
    return re.findall(r'<tr data-order="([^"]+)"', resp.text)


def _order(customer: str, external_id: str) -> dict:
    body = copy.deepcopy(SEED_ORDER)
    body["externalId"] = external_id
    for party in body["relatedParty"]:
        if party.get("role") == "customer":
            party["id"] = customer
    return body


def test_the_order_list_filters_by_state_customer_external_id_and_date(secured):
    secured.client.put("/api/v1/systems/network", json={"offline": True}).raise_for_status()
    held_back = secured.post_order(_order("cust-a", "ext-a")).json()["id"]
    secured.client.put("/api/v1/systems/network", json={"offline": False}).raise_for_status()
    secured.wait_for(held_back)
    other = secured.post_order(_order("cust-b", "ext-b")).json()["id"]
    secured.wait_for(other)
    browser = _log_in(secured)
    today = datetime.now(timezone.utc).date()

    assert _listed(browser) == [other, held_back]  # newest first
    assert _listed(browser, customer="cust-a") == [held_back]
    assert _listed(browser, externalId="ext-b") == [other]
    assert _listed(browser, state="completed", customer="cust-b") == [other]
    assert _listed(browser, state="held") == []
    assert _listed(browser, jeopardy="RED") == []
    assert _listed(browser, **{"from": today.isoformat(), "to": today.isoformat()}) == [other, held_back]
    assert _listed(browser, **{"from": (today + timedelta(days=1)).isoformat()}) == []
    rows = browser.get("/console/orders/rows", params={"customer": "cust-b"})
    assert re.findall(r'<tr data-order="([^"]+)"', rows.text) == [other]


def test_an_amendment_from_the_console_is_a_new_revision_by_the_logged_in_key(secured):
    secured.client.put("/api/v1/systems/network", json={"offline": True}).raise_for_status()
    order_id = secured.post_order().json()["id"]
    secured.wait_for_item(order_id, "2/mobile-line#activate", {"onHold"})
    browser = _log_in(secured)
    form = browser.get(f"/console/orders/{order_id}/amend")
    assert form.status_code == 200 and 'name="char.2.tier" value="unlimited"' in form.text

    done = browser.post(f"/console/orders/{order_id}/amend", data={
        "csrf_token": _token(form.text), "action.1": "add", "action.2": "add",
        "char.1.model": "Fairphone 5", "char.1.color": "blue", "char.2.tier": "unlimited-plus"})
    assert done.status_code == 303, done.text
    assert secured.order(order_id)["revision"] == 2
    [revision] = secured.client.get(f"/api/v1/orders/{order_id}/revisions").json()["revisions"]
    assert revision["status"] == "applied" and revision["actor"] == "bootstrap"
    assert revision["delta"]["changed"]["2/mobile-line"]["tier"] == ["unlimited", "unlimited-plus"]

    bad = browser.post(f"/console/orders/{order_id}/amend", data={
        "csrf_token": _token(form.text), "char.2.tier": "gold"})
    assert bad.status_code in (400, 422) and "tier" in bad.text and "Nothing was changed" in bad.text
    assert secured.order(order_id)["revision"] == 2

    page = browser.get(f"/console/orders/{order_id}")
    cancelled = browser.post(f"/console/orders/{order_id}/cancel",
                             data={"csrf_token": _token(page.text), "reason": "customer changed mind"})
    assert cancelled.status_code == 303
    secured.client.put("/api/v1/systems/network", json={"offline": False}).raise_for_status()
    assert secured.wait_for(order_id)["state"] == "cancelled"
    history = secured.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
    assert any(e.get("to") == "assessingCancellation" and e["actor"] == "bootstrap" for e in history)


def test_a_plan_too_big_to_draw_is_listed_without_its_diagrams_and_fragments_render(database_url):
    from ordertower.entrypoints.console.order_pages import DIAGRAM_LIMIT

    secured = start_server(database_url, auth=True, bootstrap_key=ADMIN, start_workers=False)
    try:
        _too_big_to_draw(secured, DIAGRAM_LIMIT)
    finally:
        secured.stop()


def _too_big_to_draw(secured, DIAGRAM_LIMIT: int) -> None:

    body = copy.deepcopy(SEED_ORDER)
    phone = next(i for i in body["productOrderItem"] if i["productOffering"]["id"] == "phone")
    body["productOrderItem"] = [dict(phone, id=str(n)) for n in range(1, DIAGRAM_LIMIT // 2 + 2)]
    order_id = secured.post_order(body).json()["id"]
    items = secured.plan(order_id)["items"]
    assert len(items) > DIAGRAM_LIMIT
    browser = _log_in(secured)

    page = browser.get(f"/console/orders/{order_id}")
    assert page.status_code == 200
    assert 'class="mermaid"' not in page.text
    assert f"the graph is drawn for plans of up to {DIAGRAM_LIMIT} items" in page.text
    assert page.text.count("<tr data-item=") == len(items)
    live = browser.get(f"/console/orders/{order_id}/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and f"up to {DIAGRAM_LIMIT} items" in live.text
    small = secured.post_order().json()["id"]
    for path in (f"/console/orders/{small}/live", f"/console/orders/{small}/plan"):
        fragment = browser.get(path, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and 'class="mermaid"' in fragment.text, path
