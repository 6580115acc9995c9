"""Console: API keys (create → secret once, list, revoke; members: own inference keys only)."""

from __future__ import annotations

import pytest

from accounts.keys import hash_secret
from accounts.models import ApiKey, KeyScope, Role
from billing.models import KeyLimits
from tests.conftest import make_key
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _user(web):
    return int(web.session["_auth_user_id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/console/api-keys/"),
        ("get", "/console/api-keys/new/"),
        ("post", "/console/api-keys/jk_x/revoke/"),
    ],
)
def test_anonymous_is_sent_to_login(anon_web, method, path):
    response = getattr(anon_web, method)(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=")


def test_create_shows_secret_once_and_sets_limits(workspace, owner_web):
    response = owner_web.post(
        "/console/api-keys/new/",
        {
            "name": "backend",
            "scope": "admin",
            "rpm_limit": "120",
            "tpm_limit": "",
            "spend_limit_usd": "12.5",
            "spend_period": "day",
            "expires_on": "2999-01-31",
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret in response.content.decode()
    key = ApiKey.objects.get(workspace=workspace, name="backend")
    assert key.key_hash == hash_secret(secret) and key.scope == KeyScope.ADMIN
    assert key.created_by_id == _user(owner_web)
    assert (key.expires_at.year, key.expires_at.month, key.expires_at.day, key.expires_at.hour) == (
        2999,
        1,
        31,
        23,
    )
    limits = KeyLimits.objects.get(api_key=key)
    assert (limits.rpm_limit, limits.tpm_limit, limits.spend_limit_units, limits.spend_period) == (
        120,
        None,
        125_000,
        "day",
    )
    listing = owner_web.get("/console/api-keys/").content.decode()
    assert key.prefix in listing and secret not in listing
    assert "120 RPM" in listing and "cap $12.50/day" in listing


def test_create_without_limits_makes_no_limits_row(workspace, owner_web):
    owner_web.post("/console/api-keys/new/", {"name": "plain", "scope": "inference", "spend_period": "month"})
    key = ApiKey.objects.get(workspace=workspace, name="plain")
    assert not KeyLimits.objects.filter(api_key=key).exists()


def test_create_refuses_past_expiry_and_missing_name(workspace, owner_web):
    response = owner_web.post(
        "/console/api-keys/new/",
        {"name": "", "scope": "inference", "spend_period": "month", "expires_on": "2001-01-01"},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "expires_on"}
    assert not ApiKey.objects.filter(workspace=workspace).exists()


def test_member_creates_only_inference_keys(workspace, member_web):
    response = member_web.post(
        "/console/api-keys/new/", {"name": "x", "scope": "admin", "spend_period": "month"}
    )
    assert "scope" in response.context["form"].errors
    assert not ApiKey.objects.filter(workspace=workspace).exists()
    member_web.post("/console/api-keys/new/", {"name": "mine", "scope": "inference", "spend_period": "month"})
    assert ApiKey.objects.get(workspace=workspace, name="mine").scope == KeyScope.INFERENCE


def test_member_sees_and_revokes_only_own_keys(workspace, member_web, owner_web):
    owner_web.post(
        "/console/api-keys/new/", {"name": "owners-key", "scope": "inference", "spend_period": "month"}
    )
    member_web.post(
        "/console/api-keys/new/", {"name": "members-key", "scope": "inference", "spend_period": "month"}
    )
    owners = ApiKey.objects.get(name="owners-key")
    members = ApiKey.objects.get(name="members-key")

    page = member_web.get("/console/api-keys/").content.decode()
    assert members.prefix in page and owners.prefix not in page
    assert member_web.post(f"/console/api-keys/{owners.prefix}/revoke/").status_code == 404
    owners.refresh_from_db()
    assert owners.revoked_at is None

    response = member_web.post(f"/console/api-keys/{members.prefix}/revoke/")
    assert response.headers["Location"] == "/console/api-keys/"
    members.refresh_from_db()
    assert members.revoked_at is not None
    # Owners see and manage every key.
    page = owner_web.get("/console/api-keys/").content.decode()
    assert members.prefix in page and owners.prefix in page


def test_other_workspace_key_is_404(workspace, other_workspace, owner_web):
    theirs = make_key(other_workspace)
    assert owner_web.post(f"/console/api-keys/{theirs.prefix}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None
    assert theirs.prefix not in owner_web.get("/console/api-keys/").content.decode()


def test_revoke_needs_post_and_csrf(workspace, login_as):
    key = make_key(workspace)
    web = login_as(workspace, Role.OWNER)
    assert web.get(f"/console/api-keys/{key.prefix}/revoke/").status_code == 405
    web.handler.enforce_csrf_checks = True
    assert web.post(f"/console/api-keys/{key.prefix}/revoke/").status_code == 403
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_list_query_count_does_not_grow_with_keys(workspace, owner_web, django_assert_num_queries):
    for i in range(3):
        make_key(workspace, name=f"k{i}")
    owner_web.get("/console/api-keys/")  # warm the session
    # session, user, memberships, keys (with limits, creator, last use), balance
    with django_assert_num_queries(5):
        assert owner_web.get("/console/api-keys/").status_code == 200
    for i in range(10):
        MembershipFactory(workspace=workspace, role=Role.MEMBER)
        make_key(workspace, name=f"more{i}")
    with django_assert_num_queries(5):
        assert owner_web.get("/console/api-keys/").status_code == 200
