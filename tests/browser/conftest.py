"""Playwright driving Debian's headless Chromium against pytest-django's live server.

The browser may reach only the live server: every other host is unresolvable
(--host-resolver-rules) and every request elsewhere is recorded, so a page that needs
a CDN fails its test. Console errors (a Content-Security-Policy violation, a broken
script) fail the test too. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NO_NETWORK_FLAGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    "--metrics-recording-only",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
PASSWORD = "browser-pass-2021"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian chromium at /usr/bin/chromium")  # CI fails earlier, in tests/conftest.py
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=NO_NETWORK_FLAGS)
        yield browser
        browser.close()


class Page:
    """A Playwright page that remembers what went wrong: console errors and requests
    that tried to leave the portal."""

    def __init__(self, context, base_url: str):
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.page.set_default_timeout(15000)
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        host = urlparse(base_url).hostname

        def guard(route):
            if urlparse(route.request.url).hostname not in (host, "localhost", "127.0.0.1"):
                self.outside.append(route.request.url)
                return route.abort()
            return route.continue_()

        self.page.route("**/*", guard)

    # Refusals (400/409/422) are answers the page shows, not errors; Chromium still logs them.
    EXPECTED = tuple(f"the server responded with a status of {code}" for code in (400, 409, 422))

    def _console(self, message):
        if message.type == "error" and not any(e in message.text for e in self.EXPECTED):
            self.errors.append(message.text)

    def __getattr__(self, name):
        return getattr(self.page, name)

    def go(self, path: str):
        return self.page.goto(self.base_url + path)

    def login(self, username: str, password: str = PASSWORD):
        self.go("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()

    def shot(self, name: str, full_page: bool = True):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    def assert_clean(self):
        assert self.outside == [], f"requests left the portal: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture
def open_page(browser, live_server):
    contexts = []

    def make(width: int = 1280, height: int = 900, locale: str = "en-IN") -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        contexts.append(context)
        return Page(context, live_server.url)

    yield make
    for context in contexts:
        context.close()
