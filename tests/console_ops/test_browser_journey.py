"""The console-ops part of the browser journey, in real headless Chromium
(Debian's /usr/bin/chromium driven by Playwright): an SDK call appears in the
live tail without a reload → its detail shows cost and trace → a routing rule
made through the forms → Preview decision shows it → a firewall policy made
through the forms → the test box masks a card number."""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.billing.conftest import priced  # noqa: F401 (fixture)

playwright_sync = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium")
CARD = "4111 1111 1111 1111"


@pytest.fixture
def browser_page(junction, workspace, monkeypatch):
    owner = workspace.memberships.get().user
    web = Client()
    web.force_login(owner)
    cookie = web.cookies[django_settings.SESSION_COOKIE_NAME].value
    # Playwright's sync API keeps an event loop on this thread; the test's own ORM calls are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": junction.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_live_tail_detail_rule_preview_firewall(browser_page, junction, client, fake_openai, priced):  # noqa: F811
    page = browser_page
    base = junction.url

    # The live tail is connected before the call is made; the page is never reloaded.
    page.goto(f"{base}/console/logs/")
    page.wait_for_selector("#tail-status.is-live")
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello from the journey"}]
    )
    request_id = raw.headers["x-request-id"]
    row_link = page.locator(f"#log-rows a[href$='/{request_id}/']")
    row_link.wait_for()
    assert page.locator("#log-rows tr.is-new").count() >= 1

    # Its detail: the cost and the trace of the attempt.
    row_link.click()
    page.wait_for_url(f"**/console/logs/{request_id}/")
    cost = page.get_by_test_id("cost").inner_text()
    assert cost.startswith("$") and cost not in ("$0.00", "$0.0000")
    attempts = page.locator("table", has=page.locator("th", has_text="Deployment"))
    assert "openai" in attempts.inner_text() and "ok" in attempts.inner_text()

    # A routing rule through the forms.
    page.goto(f"{base}/console/routing-rules/new/")
    page.fill("#id_name", "Journey rule")
    page.select_option("#id_cond-0-type", "metadata_equals")
    page.fill("#id_cond-0-key", "app")
    page.fill("#id_cond-0-value", "journey")
    page.select_option("#id_action-type", "route")
    page.fill("#id_action-model", "gpt-4o")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(f"{base}/console/routing-rules/")
    assert "Journey rule" in page.content()

    # Preview decision shows it deciding.
    page.get_by_role("button", name="Preview decision").click()
    page.fill("#id_message", "Hi")
    page.fill("#id_metadata", "app=journey")
    page.locator("#preview-form button[type=submit]").click()
    result = page.get_by_test_id("preview-result")
    result.wait_for()
    text = result.inner_text()
    assert "routed" in text and "Journey rule" in text and "openai/gpt-4o" in text

    # A firewall policy through the forms, then the test box masks a card number.
    page.goto(f"{base}/console/firewall/new/")
    page.fill("#id_name", "Cards")
    page.fill("#id_rule-0-name", "Payment cards")
    page.select_option("#id_rule-0-matcher", "detector")
    page.select_option("#id_rule-0-detector", "payment_card")
    page.select_option("#id_rule-0-action", "mask")
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_url(f"{base}/console/firewall/")
    page.fill("#id_text", f"My card is {CARD}, thanks")
    page.get_by_role("button", name="Test").click()
    masked = page.get_by_test_id("masked-text")
    masked.wait_for()
    assert CARD not in masked.inner_text() and "My card is" in masked.inner_text()
    assert "mask" in page.get_by_test_id("firewall-result").inner_text()
