"""The console's access: login with an API key for a session cookie, CSRF on every POST,
roles on actions, security headers; and its pages answer bad input with 4xx, never 500."""

from __future__ import annotations

import re

import httpx
import pytest

from ..support.catalogs import fast_retries, write_catalog
from ..support.live import start_server

ADMIN = "otk_console_access_admin"
CSP = re.compile(r"script-src 'self'(;|$)")


@pytest.fixture
def secured(database_url, tmp_path):
    """Access control on; quick retries (two attempts), so that an item falls out fast."""
    catalog = write_catalog(tmp_path / "catalog", lambda docs: fast_retries(docs, max_attempts=2))
    server = start_server(database_url, auth=True, bootstrap_key=ADMIN, catalog_path=str(catalog))
    yield server
    server.stop()


def _browser(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _log_in(server, key: str) -> httpx.Client:
    browser = _browser(server)
    form = browser.get("/console/login")
    resp = browser.post("/console/login", data={"key": key, "csrf_token": _csrf(form.text),
                                                "next": "/console/orders"})
    assert resp.status_code == 303, resp.text
    return browser


def _key(server, role: str) -> str:
    """A key of that role, stored as the key routes store one (its SHA-256 only)."""
    from ordertower.domain.ids import new_id
    from ordertower.services.access import key_hash

    key = f"otk_{role}_{new_id()}"
    with server.container.store.uow() as uow:
        uow.keys.add(new_id(), f"{role}-1", key_hash(key), role, uow.clock.now())
        uow.commit()
    return key


def test_without_a_session_the_console_sends_the_browser_to_the_login_page(secured):
    browser = _browser(secured)
    home = browser.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/console/orders"
    orders = browser.get("/console/orders?state=held")
    assert orders.status_code == 303
    assert orders.headers["location"] == "/console/login?next=/console/orders%3Fstate%3Dheld"
    fragment = browser.get("/console/orders/rows", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/console/login")
    assert browser.get("/console/events").status_code == 303
    login = browser.get("/console/login")
    assert login.status_code == 200 and 'name="key"' in login.text


def test_a_wrong_key_is_refused_and_a_right_one_opens_a_session_as_that_key(secured):
    browser = _browser(secured)
    token = _csrf(browser.get("/console/login").text)
    wrong = browser.post("/console/login", data={"key": "otk_not_a_key", "csrf_token": token})
    assert wrong.status_code == 401 and "Unknown or revoked API key" in wrong.text
    assert browser.get("/console/orders").status_code == 303  # still no session

    ok = browser.post("/console/login", data={"key": ADMIN, "csrf_token": token,
                                              "next": "/console/orders?state=held"})
    assert ok.status_code == 303 and ok.headers["location"] == "/console/orders?state=held"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Max-Age=28800" in cookie  # ORDERTOWER_CONSOLE_SESSION_HOURS, 8 by default
    assert ADMIN not in cookie  # the key itself is not in the cookie
    page = browser.get("/console/orders")
    assert page.status_code == 200 and "bootstrap · admin" in page.text
    for off_site in ("https://evil.example/", "//evil.example/console/x"):
        elsewhere = browser.get("/console/login", params={"next": off_site})
        assert elsewhere.headers["location"] == "/console/orders"  # never off-site


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(secured):
    secured.set_simulator("network", failure_rate=1.0)
    order_id = secured.post_order().json()["id"]
    browser = _log_in(secured, ADMIN)

    refused = browser.post(f"/console/orders/{order_id}/cancel", data={"reason": "no token"})
    forged = browser.post(f"/console/orders/{order_id}/cancel",
                          data={"reason": "forged", "csrf_token": "guessed"})
    logout = browser.post("/console/logout")
    assert (refused.status_code, forged.status_code, logout.status_code) == (403, 403, 403)
    assert "CSRF" in refused.text
    assert secured.order(order_id)["state"] not in ("cancelled", "pendingCancellation")
    assert browser.get("/console/orders").status_code == 200  # still logged in

    page = browser.get(f"/console/orders/{order_id}")
    token = _csrf(page.text)
    by_header = browser.post("/console/logout", headers={"X-CSRF-Token": token})
    assert by_header.status_code == 303 and by_header.headers["location"] == "/console/login"
    assert browser.get("/console/orders").status_code == 303  # logged out


def test_console_responses_carry_the_security_headers(secured):
    browser = _log_in(secured, ADMIN)
    for client, path in ((_browser(secured), "/console/login"), (browser, "/console/orders"),
                         (browser, "/console/static/console.js"),
                         (browser, "/console/static/vendor/mermaid-11.17.2.min.js")):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["content-security-policy"]
        assert CSP.search(csp) and "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self' 'unsafe-inline'" not in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
    page = browser.get("/console/orders").text
    assert "<script>" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert " onclick=" not in page and "hx-on" not in page
    assert "content-security-policy" not in secured.client.get("/api/v1/fallout").headers


def test_actions_need_their_role_and_record_the_key_that_acted(secured):
    secured.set_simulator("network", failure_rate=1.0)
    order_id = secured.post_order().json()["id"]
    secured.wait_for(order_id, states={"held"}, timeout=90)
    fallen = next(i for i in secured.plan(order_id)["items"] if i["state"] == "fallout")
    secured.set_simulator("network", failure_rate=0.0)

    agent = _log_in(secured, _key(secured, "agent"))
    token = _csrf(agent.get(f"/console/orders/{order_id}").text)
    refused = agent.post(f"/console/plan-items/{fallen['id']}/retry", data={"csrf_token": token})
    assert refused.status_code == 403 and "operator" in refused.text
    assert secured.plan(order_id)["items"][[i["id"] for i in secured.plan(order_id)["items"]].index(fallen["id"])]["state"] == "fallout"

    operator = _log_in(secured, _key(secured, "operator"))
    token = _csrf(operator.get(f"/console/orders/{order_id}").text)
    done = operator.post(f"/console/plan-items/{fallen['id']}/retry", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == f"/console/orders/{order_id}"
    secured.wait_for(order_id)
    actions = [e for e in secured.client.get(f"/api/v1/orders/{order_id}/history").json()["events"]
               if e["type"] == "OperatorActionEvent"]
    assert [(a["action"], a["actor"]) for a in actions] == [("retry", "operator-1")]


def test_console_pages_answer_bad_input_with_4xx(secured):
    browser = _log_in(secured, ADMIN)
    assert browser.get("/console/orders?state=nonsense").status_code == 400
    assert browser.get("/console/orders?from=yesterday").status_code == 400
    assert browser.get("/console/orders/no-such-order").status_code == 404
    order_id = secured.post_order().json()["id"]
    secured.wait_for(order_id)
    bad_at = browser.get(f"/console/orders/{order_id}/plan?at=soon")
    assert bad_at.status_code == 400 and bad_at.json()["errors"][0]["field"] == "at"
    token = _csrf(browser.get(f"/console/orders/{order_id}").text)
    late = browser.post(f"/console/orders/{order_id}/cancel", data={"csrf_token": token})
    assert late.status_code == 409 and "Nothing was changed" in late.text
    assert browser.post("/console/plan-items/nope/retry", data={"csrf_token": token}).status_code == 404
    assert secured.order(order_id)["state"] == "completed"


def test_under_no_auth_the_console_opens_without_a_login(server):
    browser = httpx.Client(base_url=server.url, timeout=30, follow_redirects=True)
    page = browser.get("/")
    assert page.status_code == 200 and str(page.url).endswith("/console/orders")
    assert "no access control" in page.text and 'name="key"' not in page.text
    assert browser.post("/console/orders/x/cancel", data={}).status_code == 403  # CSRF still
