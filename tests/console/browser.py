"""Driving the console in a real headless Chromium (Playwright, Debian's
``/usr/bin/chromium``). Fixtures and a small ``ConsoleUser`` helper that the
journey tests compose; extend it with a method per new page rather than
repeating selectors in tests.

``.ci/run`` installs the browser when it is missing and sets
``JUNCTION_REQUIRE_BROWSER=1``, so CI fails instead of skipping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest
from django.core import mail

from billing.services.plans import plans_ensure_defaults

CHROMIUM = Path(os.environ.get("JUNCTION_CHROMIUM", "/usr/bin/chromium"))
PASSWORD = "correct horse battery staple"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser per test module. Playwright's sync API keeps an event loop
    running in this thread, which Django's ORM takes for async code; the ORM
    calls of these tests are plain sync calls, so the check is lifted while
    the browser lives (and only then)."""
    if not CHROMIUM.exists():
        if os.environ.get("JUNCTION_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install -y chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def console_server(junction, fake_openai) -> str:
    """The live Junction server (catalog loaded, the fake OpenAI upstream as
    the platform's openai provider, the shipped plans in place so a sign-up
    gets its grant); its base URL."""
    plans_ensure_defaults()  # transactional tests before this one flushed the seeded plans
    return junction.url


def open_page(chromium, viewport: dict[str, int]):
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture
def desktop(chromium):
    context, page = open_page(chromium, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone(chromium):
    context, page = open_page(chromium, PHONE)
    yield page
    context.close()


def key_prefix(secret: str) -> str:
    """``jk_<10 chars>``: the visible part of a key (the rest may hold ``_``)."""
    return "_".join(secret.split("_", 2)[:2])


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0 = fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@dataclass
class ConsoleUser:
    """One person in the browser against the live Junction server."""

    page: object
    base_url: str
    email: str

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")

    # -------------------------------------------------------------- accounts

    def sign_up(self) -> None:
        self.go("/accounts/signup/")
        self.page.get_by_label("Email").fill(self.email)
        self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        self.page.get_by_label("Password (again)").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign Up").click()
        self.page.wait_for_url("**/accounts/confirm-email/")

    def confirm_email(self) -> None:
        """Open the link of the confirmation mail (the test's outbox) and confirm."""
        message = next(m for m in reversed(mail.outbox) if self.email in m.to)
        link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
        assert link, message.body
        self.page.goto(link.group(0))
        self.page.get_by_role("button", name="Confirm").click()
        self.page.wait_for_url(f"{self.base_url}/console/")

    def log_in(self) -> None:
        self.go("/accounts/login/")
        self.page.get_by_label("Email").fill(self.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign In").click()
        self.page.wait_for_url(f"{self.base_url}/console/")

    # -------------------------------------------------------------- API keys

    def create_key(self, name: str) -> str:
        """Create an inference key; return the secret the page shows once."""
        self.go("/console/api-keys/")
        self.page.get_by_role("link", name="Create key").click()
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_role("button", name="Create key").click()
        secret = self.page.locator("[data-secret]").inner_text().strip()
        assert secret.startswith("jk_")
        return secret

    def revoke_key(self, prefix: str) -> None:
        self.go("/console/api-keys/")
        row = self.page.locator("tr", has_text=prefix)
        row.get_by_role("button", name="Revoke").click()
        dialog = self.page.get_by_role("dialog")
        dialog.get_by_role("button", name="Revoke key").click()
        self.page.get_by_text("revoked. It stops working").wait_for()

    def openai(self, secret: str) -> openai.OpenAI:
        return openai.OpenAI(api_key=secret, base_url=f"{self.base_url}/v1", max_retries=0, timeout=20)
