"""Sign-up (→ own workspace on the default plan), email confirmation, login
limits, invitations (with and without an account)."""

from __future__ import annotations

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.models import Invitation, Membership, Role
from billing.models import CreditAccount, LedgerEntry
from billing.services.plans import plans_ensure_defaults
from console.permissions import SESSION_WORKSPACE_KEY
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"


@pytest.fixture(autouse=True)
def _plans_and_limits():
    plans_ensure_defaults()
    cache.clear()  # allauth's rate-limit counters


def _link(message, pattern: str) -> str:
    return re.search(rf"https?://testserver(/{pattern}[^\s]*)", message.body).group(1)


def sign_up(web: Client, email: str) -> None:
    response = web.post("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302, response.content


def test_sign_up_confirm_and_land_in_own_workspace():
    web = Client()
    sign_up(web, "Ada@Example.com")
    user = get_user_model().objects.get(email="ada@example.com")
    membership = Membership.objects.select_related("workspace").get(user=user)
    assert membership.role == Role.OWNER
    account = CreditAccount.objects.select_related("plan").get(workspace=membership.workspace)
    assert account.plan.is_default
    grant = LedgerEntry.objects.get(workspace=membership.workspace)
    assert grant.amount_units == account.plan.monthly_grant_units == account.balance_units

    # Not confirmed yet: no console.
    assert web.get("/console/").status_code == 302
    assert web.get("/console/").headers["Location"].startswith("/accounts/login/")
    confirm = _link(mail.outbox[-1], "accounts/confirm-email/")
    assert web.get(confirm).status_code == 200  # a page with a button, not a GET side effect
    assert not EmailAddress.objects.get(user=user).verified
    response = web.post(confirm)
    assert response.headers["Location"] == "/console/"
    assert EmailAddress.objects.get(user=user).verified
    assert web.get("/console/").status_code == 200


def test_login_and_logout(db):
    web = Client()
    sign_up(web, "bob@example.com")
    EmailAddress.objects.filter(email="bob@example.com").update(verified=True)
    web = Client()
    response = web.post("/accounts/login/", {"login": "bob@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/console/"
    assert web.post("/accounts/logout/").headers["Location"] == "/"
    assert web.get("/console/").status_code == 302


def test_failed_logins_are_rate_limited(db):
    user = UserFactory(email="carol@example.com", username="carol@example.com")
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    web = Client()
    for _ in range(5):
        page = web.post("/accounts/login/", {"login": user.email, "password": "wrong"})
        assert page.status_code == 200
    # Now even the right password is refused for a while.
    page = web.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert page.status_code in (200, 429)
    assert "_auth_user_id" not in web.session
    assert "Too many" in page.content.decode()


def test_password_reset_mail(db):
    web = Client()
    sign_up(web, "dan@example.com")
    mail.outbox.clear()
    response = Client().post("/accounts/password/reset/", {"email": "dan@example.com"})
    assert response.status_code == 302
    assert "/accounts/password/reset/key/" in mail.outbox[-1].body


# ------------------------------------------------------------------ invitations


def _invite(web: Client, email: str, role: str = Role.MEMBER) -> str:
    response = web.post("/console/members/invite/", {"email": email, "role": role})
    assert response.status_code == 302, response.content
    return _link(mail.outbox[-1], "accounts/invitations/")


def test_invitation_sign_up_joins_without_own_workspace(workspace, owner_web):
    link = _invite(owner_web, "eve@example.com", Role.ADMIN)
    assert "as admin" in mail.outbox[-1].body
    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200 and workspace.name in page.content.decode()
    # The signup form is prefilled, and the address needs no confirmation: the link proved it.
    assert 'value="eve@example.com"' in visitor.get("/accounts/signup/").content.decode()
    sign_up(visitor, "eve@example.com")
    user = get_user_model().objects.get(email="eve@example.com")
    assert list(Membership.objects.filter(user=user).values_list("workspace_id", "role")) == [
        (workspace.pk, Role.ADMIN)
    ]
    assert visitor.session[SESSION_WORKSPACE_KEY] == workspace.pk
    assert visitor.get("/console/").status_code == 200
    assert Invitation.objects.get(email="eve@example.com").accepted_by == user


def test_invitation_with_existing_account(workspace, owner_web):
    other = MembershipFactory(workspace=WorkspaceFactory(), role=Role.OWNER).user
    link = _invite(owner_web, other.email)
    web = Client()
    web.force_login(other)
    assert web.post(link).headers["Location"] == "/console/"
    assert Membership.objects.get(user=other, workspace=workspace).role == Role.MEMBER
    assert web.session[SESSION_WORKSPACE_KEY] == workspace.pk
    # Used once.
    assert "already been used" in web.get(link).content.decode()


def test_invitation_refuses_another_address(workspace, owner_web):
    link = _invite(owner_web, "frank@example.com")
    web = Client()
    web.force_login(UserFactory(email="mallory@example.com"))
    web.post(link)
    assert not Membership.objects.filter(workspace=workspace, user__email="mallory@example.com").exists()
    assert Invitation.objects.get(email="frank@example.com").accepted_at is None


def test_unknown_invitation_is_404(db):
    assert Client().get("/accounts/invitations/nope/").status_code == 404


def test_admin_cannot_invite_owner_or_demote_owner(workspace, admin_web):
    response = admin_web.post("/console/members/invite/", {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 200
    assert "Only owners" in response.content.decode()
    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER)
    admin_web.post(f"/console/members/{owner.pk}/role/", {"role": "member"})
    admin_web.post(f"/console/members/{owner.pk}/remove/")
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_last_owner_stays(workspace, owner_web):
    me = Membership.objects.get(workspace=workspace, user_id=owner_web.session["_auth_user_id"])
    first = Membership.objects.exclude(pk=me.pk).get(workspace=workspace, role=Role.OWNER)
    first.delete()
    owner_web.post(f"/console/members/{me.pk}/role/", {"role": "member"})
    me.refresh_from_db()
    assert me.role == Role.OWNER


def test_owner_changes_role_and_removes(workspace, owner_web):
    other = MembershipFactory(workspace=workspace, role=Role.MEMBER)
    owner_web.post(f"/console/members/{other.pk}/role/", {"role": "admin"})
    other.refresh_from_db()
    assert other.role == Role.ADMIN
    owner_web.post(f"/console/members/{other.pk}/remove/")
    assert not Membership.objects.filter(pk=other.pk).exists()


def test_rename_workspace(workspace, owner_web):
    owner_web.post("/console/settings/", {"name": "Renamed Co"})
    workspace.refresh_from_db()
    assert workspace.name == "Renamed Co"


# ------------------------------------------------------------------ boundaries

MANAGER_PAGES = [
    ("get", "/console/members/"),
    ("post", "/console/members/invite/"),
    ("get", "/console/settings/"),
    ("post", "/console/settings/"),
]


@pytest.mark.parametrize(("method", "path"), MANAGER_PAGES)
def test_members_pages_refuse_members(workspace, member_web, anon_web, method, path):
    assert getattr(member_web, method)(path).status_code == 403
    assert getattr(anon_web, method)(path).headers["Location"].startswith("/accounts/login/")


def test_other_workspace_members_are_404(workspace, other_workspace, owner_web):
    theirs = Membership.objects.get(workspace=other_workspace)
    assert owner_web.post(f"/console/members/{theirs.pk}/role/", {"role": "member"}).status_code == 404
    assert owner_web.post(f"/console/members/{theirs.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=theirs.pk, role=Role.OWNER).exists()
    invitation = Invitation.objects.create(
        workspace=other_workspace, email="z@example.com", token_hash="h" * 64, expires_at="2999-01-01T00:00Z"
    )
    assert owner_web.post(f"/console/members/invitations/{invitation.pk}/revoke/").status_code == 404
    assert theirs.user.email not in owner_web.get("/console/members/").content.decode()


def test_members_query_count(workspace, owner_web, django_assert_num_queries):
    owner_web.get("/console/members/")
    for _ in range(5):
        MembershipFactory(workspace=workspace, role=Role.MEMBER)
    # session, user, memberships (switcher), members, invitations, balance
    with django_assert_num_queries(6):
        assert owner_web.get("/console/members/").status_code == 200


def _totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(iter(yield_hotp_counters_from_time()))))


def test_totp_two_factor_sign_in(db, monkeypatch):
    web = Client()
    sign_up(web, "grace@example.com")
    EmailAddress.objects.filter(email="grace@example.com").update(verified=True)
    web.post("/accounts/login/", {"login": "grace@example.com", "password": PASSWORD})
    # Turning 2FA on asks for the password again.
    assert web.get("/accounts/2fa/totp/activate/").headers["Location"].startswith("/accounts/reauthenticate/")
    web.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert web.get("/accounts/2fa/totp/activate/").status_code == 200
    secret = web.session["mfa.totp.secret"]
    assert web.post("/accounts/2fa/totp/activate/", {"code": "000000"}).status_code == 200  # wrong code
    response = web.post("/accounts/2fa/totp/activate/", {"code": _totp_now(secret)})
    assert response.status_code == 302

    web.post("/accounts/logout/")
    response = web.post("/accounts/login/", {"login": "grace@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/accounts/2fa/authenticate/"
    assert web.get("/console/").status_code == 302  # not in yet
    # A later time step: a code is accepted once.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 30)
    response = web.post("/accounts/2fa/authenticate/", {"code": _totp_now(secret)})
    assert response.headers["Location"] == "/console/"
    assert web.get("/console/").status_code == 200


def test_sign_up_is_rate_limited(db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    web = Client()
    for n in range(2):
        sign_up(web, f"burst{n}@example.com")
        web = Client()
    response = web.post(
        "/accounts/signup/", {"email": "burst2@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 429
    assert not get_user_model().objects.filter(email="burst2@example.com").exists()
