"""Console: provider keys (encrypted, masked, primary/fallbacks, test call)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from routing_rules import crypto
from routing_rules.models import ProviderKey
from routing_rules.services import provider_key_create

SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture
def providers(catalog):
    """The catalog's providers (and models), loaded."""


def _add(web, secret=SECRET, provider="openai", label=""):
    return web.post("/console/provider-keys/", {"provider": provider, "api_key": secret, "label": label})


def test_add_stores_encrypted_and_shows_only_hint(workspace, owner_web, providers):
    response = _add(owner_web, label="org")
    assert response.status_code == 302
    key = ProviderKey.objects.get(workspace=workspace)
    assert SECRET not in key.ciphertext and crypto.decrypt(key.ciphertext) == SECRET
    assert key.position == 0 and key.label == "org"
    page = owner_web.get("/console/provider-keys/").content.decode()
    assert key.hint in page and SECRET not in page and SECRET[8:-4] not in page
    assert "primary" in page


def test_unknown_provider_is_refused(workspace, owner_web, providers):
    response = _add(owner_web, provider="nope")
    assert response.status_code == 200
    assert "provider" in response.context["form"].errors
    assert not ProviderKey.objects.exists()


def test_fallbacks_primary_toggle_delete(workspace, owner_web, providers):
    _add(owner_web, "sk-first-1234567890")
    _add(owner_web, "sk-second-1234567890")
    first, second = ProviderKey.objects.order_by("position")
    assert (first.position, second.position) == (0, 1)
    owner_web.post(f"/console/provider-keys/{second.pk}/primary/")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.position, first.position) == (0, 1)
    owner_web.post(f"/console/provider-keys/{first.pk}/toggle/")
    first.refresh_from_db()
    assert not first.enabled
    owner_web.post(f"/console/provider-keys/{first.pk}/delete/")
    assert list(ProviderKey.objects.values_list("pk", flat=True)) == [second.pk]


def test_test_button_reports_success_and_provider_error(workspace, owner_web, fake_openai, providers):
    good = provider_key_create(workspace=workspace, provider="openai", api_key="sk-good-key-123456")
    bad = provider_key_create(workspace=workspace, provider="openai", api_key="sk-invalid-key-123456")

    page = owner_web.post(f"/console/provider-keys/{good.pk}/test/", HTTP_HX_REQUEST="true")
    assert page.status_code == 200
    assert "OpenAI accepted the key" in page.content.decode()
    sent = fake_openai.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-good-key-123456"
    assert (
        sent.body.get(
            "max_output_tokens", sent.body.get("max_tokens", sent.body.get("max_completion_tokens"))
        )
        == 16
    )

    page = owner_web.post(f"/console/provider-keys/{bad.pk}/test/", HTTP_HX_REQUEST="true").content.decode()
    assert "Incorrect API key provided" in page and "HTTP 401" in page

    # Without htmx: the result comes back as a message after a redirect.
    response = owner_web.post(f"/console/provider-keys/{bad.pk}/test/", follow=True)
    assert "Incorrect API key provided" in response.content.decode()


@pytest.mark.parametrize("action", ["primary", "toggle", "delete", "test"])
def test_other_workspace_key_is_404(workspace, other_workspace, owner_web, action, providers):
    theirs = provider_key_create(workspace=other_workspace, provider="openai", api_key=SECRET)
    assert owner_web.post(f"/console/provider-keys/{theirs.pk}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled and theirs.position == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/console/provider-keys/"),
        ("post", "/console/provider-keys/"),
        ("post", "/console/provider-keys/1/test/"),
    ],
)
def test_members_get_403_and_visitors_login(workspace, member_web, anon_web, method, path):
    assert getattr(member_web, method)(path).status_code == 403
    assert getattr(anon_web, method)(path).headers["Location"].startswith("/accounts/login/")


def test_list_query_count(workspace, owner_web, providers, django_assert_num_queries):
    for i in range(4):
        provider_key_create(
            workspace=workspace, provider="openai" if i % 2 else "anthropic", api_key=f"sk-{i}-xxxxxxxxxx"
        )
    owner_web.get("/console/provider-keys/")
    # session, user, memberships, providers, keys, balance
    with django_assert_num_queries(6):
        assert owner_web.get("/console/provider-keys/").status_code == 200


def test_member_role_from_login_as(workspace, login_as, providers):
    assert login_as(workspace, Role.ADMIN).get("/console/provider-keys/").status_code == 200
