"""Provider keys: encrypted at rest, rotation, never returned, workspace keys
and BYOK headers take precedence over the platform's, never logged, isolated."""

from __future__ import annotations

import io
import json

import openai
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from gateway.models import RequestLog
from routing_rules import crypto
from routing_rules.models import ProviderKey
from routing_rules.services import provider_key_create
from tests.helpers import wait_for_logs

KEYS = "/api/manage/provider-keys/"
SECRET = "sk-workspace-SECRET-0123456789abcdef"
HI = [{"role": "user", "content": "hi"}]


def dump_tables() -> str:
    """Every row of every table, as text: where a plaintext must not appear."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


@pytest.fixture
def two_fernet_keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = old
    return old, new


def test_created_key_is_encrypted_at_rest_and_never_returned(manage_client, catalog, two_fernet_keys):
    created = manage_client.post(
        KEYS, {"provider": "openai", "api_key": SECRET, "label": "prod"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert SECRET not in created.content.decode()
    assert created.json()["hint"] == "sk-…cdef"
    listed = manage_client.get(KEYS)
    assert SECRET not in listed.content.decode() and listed.json()[0]["hint"] == "sk-…cdef"
    assert SECRET not in dump_tables()
    row = ProviderKey.objects.get()
    assert crypto.decrypt(row.ciphertext) == SECRET


def test_unknown_provider_is_refused(manage_client, catalog):
    response = manage_client.post(KEYS, {"provider": "nope", "api_key": SECRET}, format="json")
    assert response.status_code == 400 and SECRET not in response.content.decode()


def test_rotation_reencrypts_under_the_new_key(workspace, catalog, settings, two_fernet_keys):
    old, new = two_fernet_keys
    key = provider_key_create(workspace=workspace, provider="openai", api_key=SECRET)
    before = key.ciphertext
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = f"{new},{old}"
    call_command("rotate_provider_keys", stdout=io.StringIO())
    key.refresh_from_db()
    assert key.ciphertext != before and key.rotated_at is not None
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = new  # the old key can now be dropped
    assert crypto.decrypt(key.ciphertext) == SECRET
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(before)
    assert SECRET not in dump_tables()


def test_other_workspaces_keys_are_invisible_and_untouchable(manage_client, other_workspace, catalog):
    other = provider_key_create(
        workspace=other_workspace, provider="openai", api_key=SECRET, label="sentinel-lbl"
    )
    listing = manage_client.get(KEYS)
    assert listing.json() == [] and "sentinel-lbl" not in listing.content.decode()
    for response in (
        manage_client.patch(f"{KEYS}{other.pk}", {"enabled": False}, format="json"),
        manage_client.delete(f"{KEYS}{other.pk}"),
    ):
        assert response.status_code == 404 and "sentinel-lbl" not in response.content.decode()
    assert ProviderKey.objects.get(pk=other.pk).enabled


# ------------------------------------------------------------ on the wire


def auth_of(recorded) -> str:
    return recorded.headers["authorization"]


def test_workspace_key_is_used_instead_of_the_platforms_and_flags_byok(client, fake_openai, workspace):
    provider_key_create(workspace=workspace, provider="openai", api_key=SECRET)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert auth_of(fake_openai.requests[0]) == f"Bearer {SECRET}"
    (row,) = wait_for_logs()
    assert row.extra["byok"] is True
    assert row.extra["attempts"][0]["key"] == "workspace"
    assert SECRET not in json.dumps(row.extra)


def test_other_workspaces_traffic_keeps_the_platform_key(client, fake_openai, other_workspace):
    provider_key_create(workspace=other_workspace, provider="openai", api_key=SECRET)
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert auth_of(fake_openai.requests[0]) == "Bearer sk-platform-test"
    (row,) = wait_for_logs()
    assert "byok" not in row.extra


def test_fallback_key_is_tried_when_the_primary_is_rate_limited(client, workspace, settings, fake_openai):
    provider_key_create(workspace=workspace, provider="openai", api_key="sk-primary-aaaaaaaaaaaa")
    provider_key_create(workspace=workspace, provider="openai", api_key="sk-fallback-bbbbbbbbbbbb")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "[[429]]"}])
    assert [auth_of(r) for r in fake_openai.requests] == [
        "Bearer sk-primary-aaaaaaaaaaaa",
        "Bearer sk-fallback-bbbbbbbbbbbb",
    ]
    (row,) = wait_for_logs()
    assert [a["key_hint"] for a in row.extra["attempts"]] == ["sk-…aaaa", "sk-…bbbb"]


def test_byok_header_beats_stored_and_platform_keys_and_is_never_logged(client, fake_openai, workspace):
    header_key = "sk-header-SENTINEL-9999"
    provider_key_create(workspace=workspace, provider="openai", api_key=SECRET)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=HI, extra_headers={"X-OpenAI-Key": header_key}
    )
    recorded = fake_openai.requests[0]
    assert auth_of(recorded) == f"Bearer {header_key}"
    assert "x-openai-key" not in recorded.headers  # not forwarded either
    (row,) = wait_for_logs()
    assert row.extra["byok"] is True and row.extra["attempts"][0]["key"] == "header"
    stored = json.dumps(list(RequestLog.objects.values()), default=str)
    assert header_key not in stored and SECRET not in stored
    assert header_key not in dump_tables()


def test_byok_header_makes_an_unconfigured_provider_eligible(client, fake_openai, settings):
    settings.PROVIDER_CREDENTIALS = {
        **settings.PROVIDER_CREDENTIALS,
        "openrouter": {"api_key": "", "base_url": settings.PROVIDER_CREDENTIALS["openai"]["base_url"]},
    }
    client.chat.completions.create(
        model="openrouter:gpt-4o-mini", messages=HI, extra_headers={"X-OpenRouter-Key": "sk-or-user"}
    )
    assert auth_of(fake_openai.requests[0]) == "Bearer sk-or-user"


def test_key_changes_apply_to_the_next_request(client, fake_openai, workspace, manage_client):
    created = manage_client.post(KEYS, {"provider": "openai", "api_key": SECRET}, format="json").json()
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    manage_client.patch(f"{KEYS}{created['id']}", {"enabled": False}, format="json")
    client.chat.completions.create(model="gpt-4o-mini", messages=HI)
    assert [auth_of(r) for r in fake_openai.requests] == [f"Bearer {SECRET}", "Bearer sk-platform-test"]
