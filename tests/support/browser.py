"""Browser tests: Playwright driving Debian's Chromium (never a downloaded browser) against a
live ordertower, with a screenshot of every test kept as an artifact.

Chromium comes from ``scripts/test-services.sh`` (apt). A missing Chromium fails the test
with that instruction: browser tests never skip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("ORDERTOWER_TEST_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs" / "images"


def require_chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run scripts/test-services.sh "
                    "(it installs Debian's chromium with apt).", pytrace=False)
    return CHROMIUM


def launch(playwright) -> Any:
    return playwright.chromium.launch(executable_path=require_chromium(), headless=True,
                                      args=["--no-sandbox", "--disable-dev-shm-usage"])


@dataclass
class ConsolePage:
    """A logged-in browser tab on a live server."""

    page: Any
    server: Any
    key: str | None
    errors: list[str] = field(default_factory=list)  # console errors and page errors (CSP too)

    @property
    def url(self) -> str:
        return self.server.url

    def open(self, path: str) -> Any:
        self.page.goto(self.url + path)
        return self.page

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "Content-Security-Policy" in e]


def log_in(page, base_url: str, key: str) -> None:
    page.goto(base_url + "/console/login")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/console/orders")


def write_docs_screenshot(page, name: str, down_to: str | None = None) -> Path | None:
    """With ORDERTOWER_SCREENSHOT_DOCS=1, keep this screenshot as docs/images/NAME (the
    README's): the page from its top down to the bottom of the element ``down_to``."""
    if os.environ.get("ORDERTOWER_SCREENSHOT_DOCS", "").strip().lower() not in ("1", "true", "yes"):
        return None
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    target = DOCS_IMAGES / name
    clip = None
    if down_to:
        bottom = page.locator(down_to).evaluate(
            "e => e.getBoundingClientRect().bottom + window.scrollY")
        width = page.evaluate("document.documentElement.scrollWidth")
        clip = {"x": 0, "y": 0, "width": width, "height": bottom + 16}
    page.screenshot(path=str(target), full_page=True, clip=clip)
    return target
