"""Fixtures of the console's browser tests: a live server (access control on, a bootstrap
admin key), Chromium, and a logged-in tab whose screenshot is kept after each test
(``<pytest tmp dir>/.../screenshot.png``; the path is printed when the test fails)."""

from __future__ import annotations

import pytest

from tests.support.catalogs import fast_retries, write_catalog
from tests.support.browser import ConsolePage, launch, log_in
from tests.support.live import start_server

ADMIN_KEY = "otk_console_browser_tests_admin"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
    shot = getattr(item, "console_screenshot", None)
    if report.when == "teardown" and shot is not None:
        failed = any(getattr(getattr(item, "rep_" + w, None), "failed", False) for w in ("setup", "call"))
        if failed:
            report.sections.append(("console screenshot", f"screenshot of the failing page: {shot}"))


@pytest.fixture(scope="module")
def playwright_instance():
    """Per module: Playwright's sync API keeps an event loop running in this thread while it
    is open, which would break every later test that calls asyncio.run()."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright_instance):
    browser = launch(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def console_server(tmp_path):
    """A live ordertower on a fresh SQLite file, access control on; the reference catalog with
    quick retries (two attempts, 50 ms apart), so that an item falls out fast."""
    catalog = write_catalog(tmp_path / "catalog", lambda docs: fast_retries(docs, max_attempts=2))
    server = start_server(f"sqlite:///{tmp_path}/console.db", auth=True, bootstrap_key=ADMIN_KEY,
                          catalog_path=str(catalog))
    yield server
    server.stop()


@pytest.fixture
def console(request, chromium, console_server, tmp_path):
    """A logged-in (admin) tab on the console; a screenshot of it is kept at the end."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    tab = ConsolePage(page, console_server, ADMIN_KEY)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.errors.append(str(e)))
    log_in(page, console_server.url, ADMIN_KEY)
    yield tab
    shot = tmp_path / "screenshot.png"
    try:
        page.screenshot(path=str(shot), full_page=True)
        request.node.console_screenshot = shot
        print(f"console screenshot: {shot}")
    finally:
        context.close()
