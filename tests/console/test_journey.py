"""The console in a real browser: sign up → confirm → console → create a key
→ read the secret once → call /v1 with the OpenAI SDK → revoke → 401."""

from __future__ import annotations

import openai
import pytest

from accounts.models import ApiKey
from tests.console.browser import (
    ConsoleUser,
    chromium,
    console_server,
    desktop,
    horizontal_overflow,
    key_prefix,
    phone,
)

__all__ = ["chromium", "console_server", "desktop", "phone"]  # fixtures, imported for pytest


@pytest.fixture
def person(desktop, console_server) -> ConsoleUser:
    return ConsoleUser(page=desktop, base_url=console_server, email="journey@example.com")


def test_sign_up_to_revoked_key(person):
    person.sign_up()
    person.confirm_email()
    assert person.page.get_by_role("heading", name="Overview").is_visible()

    secret = person.create_key("journey key")
    prefix = key_prefix(secret)
    person.page.get_by_role("link", name="Done").click()
    listing = person.page.content()
    assert prefix in listing and secret not in listing  # shown once, never again

    client = person.openai(secret)
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello from the journey"}]
    )
    assert answer.choices[0].message.content

    person.revoke_key(prefix)
    assert ApiKey.objects.get(prefix=prefix).revoked_at is not None
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}])


def test_key_pages_fit_a_phone(phone, console_server):
    person = ConsoleUser(page=phone, base_url=console_server, email="phone@example.com")
    person.sign_up()
    person.confirm_email()
    for path in ("/console/", "/console/api-keys/", "/console/api-keys/new/"):
        person.go(path)
        assert horizontal_overflow(phone) == 0, path
    secret = person.create_key("phone key")
    assert horizontal_overflow(phone) == 0
    assert phone.locator("[data-secret]").is_visible()
    # The menu opens from the button on a phone.
    person.go("/console/api-keys/")
    nav = phone.get_by_role("navigation", name="Console")
    assert not nav.is_visible()
    phone.get_by_role("button", name="Menu").click()
    assert nav.get_by_role("link", name="API keys").is_visible()
    person.revoke_key(key_prefix(secret))
