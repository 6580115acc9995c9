"""The chat app in a real headless Chromium at phone width: sign in, send a
message to a fake upstream, watch the answer stream in, see the header
balance drop by exactly the cost the request log records, and find the call
in the console's logs. A model's HTML is shown as text, never run."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.models import Role
from chat.models import Message, MessageRole, MessageStatus
from console.templatetags.console import usd
from tests.billing.conftest import balance, wait_settled
from tests.console.browser import chromium, horizontal_overflow, phone
from tests.fakes.openai_upstream import REPLY
from tests.helpers import wait_for_logs

__all__ = ["chromium", "phone"]  # fixtures, imported for pytest

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = ".msg-assistant [data-answer]"


def open_chat(page, junction, person) -> None:
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": person.session, "url": junction.url}]
    )
    page.goto(f"{junction.url}/chat/")
    page.select_option("[data-model]", "gpt-4o-mini")


def send(page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_the_answer_streams_in_and_the_balance_drops_by_its_cost(
    phone, junction, sign_in, workspace, fake_openai, priced
):
    person = sign_in(workspace, Role.OWNER)
    open_chat(phone, junction, person)
    assert horizontal_overflow(phone) == 0
    shown_before = phone.locator("[data-balance]").inner_text()
    assert shown_before == usd(balance(workspace.pk)[0])
    before = balance(workspace.pk)[0]

    send(phone, "[[holdword]] Hello, who are you?")
    # The first word is on the page while the upstream still holds the rest.
    phone.wait_for_function(f"document.querySelector('{ANSWER}')?.textContent.trim().length > 0")
    partial = phone.locator(ANSWER).inner_text().strip()
    assert partial and REPLY.startswith(partial) and partial != REPLY.strip()
    assert phone.get_by_role("button", name="Stop").is_visible()
    fake_openai.release.set()

    phone.get_by_role("button", name="Send").wait_for()
    phone.wait_for_function(f"document.querySelector('{ANSWER}').textContent.includes('done.')")
    answer = Message.objects.get(conversation__user=person.user, role=MessageRole.ASSISTANT)
    assert answer.status == MessageStatus.COMPLETE
    (row,) = wait_for_logs(request_id=answer.request_id)
    wait_settled()
    assert row.charged_units > 0
    expected = usd(before - row.charged_units)
    phone.wait_for_function(
        "([sel, want]) => document.querySelector(sel).textContent.trim() === want",
        arg=["[data-balance]", expected],
        timeout=10_000,
    )
    assert balance(workspace.pk)[0] == before - row.charged_units
    phone.locator(".msg-assistant .msg-meta", has_text=usd(row.charged_units)).wait_for()
    assert horizontal_overflow(phone) == 0

    # The call is in the console's logs, marked as the chat app's.
    phone.goto(f"{junction.url}/console/logs/")
    phone.get_by_text(answer.request_id).first.wait_for()


def test_html_in_an_answer_is_text(phone, junction, sign_in, workspace, fake_openai, priced):
    fake_openai.reply = (
        'Look <script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> done.'
    )
    person = sign_in(workspace, Role.MEMBER)
    open_chat(phone, junction, person)
    send(phone, "show me html")
    phone.wait_for_function(f"document.querySelector('{ANSWER}')?.textContent.includes('done.')")
    bubble = phone.locator(ANSWER)
    assert "<script>window.__pwned = 1</script>" in bubble.inner_text()
    assert bubble.locator("script, img").count() == 0
    assert phone.evaluate("window.__pwned") is None
