"""Writers for accounts: workspaces, memberships, API keys."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.keys import generate_secret, hash_secret
from accounts.models import ApiKey, KeyScope, Membership, Role, Workspace
from billing.selectors import default_plan
from billing.services.plans import grant_period, plan_assign, plan_grant_for_period
from gateway.auth import forget_key


class AccountsError(Exception):
    pass


@transaction.atomic
def workspace_create(*, slug: str, owner_email: str, name: str = "") -> Workspace:
    slug = slugify(slug)
    if not slug:
        raise AccountsError("A workspace needs a slug of letters, digits or dashes.")
    if Workspace.objects.filter(slug=slug).exists():
        raise AccountsError(f"Workspace '{slug}' already exists.")
    workspace = Workspace.objects.create(slug=slug, name=name or slug)
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=owner_email.lower(), defaults={"email": owner_email.lower()}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    return workspace


def _free_slug(base: str) -> str:
    base = slugify(base)[:48].strip("-") or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_open(*, owner: User, name: str) -> Workspace:
    """A new workspace owned by ``owner``, on the default plan with this
    month's grant (what sign-up does)."""
    name = name.strip()[:200] or "My workspace"
    workspace = Workspace.objects.create(slug=_free_slug(name), name=name)
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    plan = default_plan()
    if plan is not None:
        plan_assign(workspace_id=workspace.pk, plan_slug=plan.slug)
        plan_grant_for_period(workspace_id=workspace.pk, plan=plan, period=grant_period(timezone.now()))
    return workspace


def api_key_create(
    *,
    workspace: Workspace,
    name: str = "",
    scope: str = KeyScope.INFERENCE,
    created_by: User | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return it with its secret. The secret is never stored."""
    if scope not in KeyScope.values:
        raise AccountsError(f"Unknown key scope '{scope}'.")
    prefix, secret = generate_secret()
    key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        prefix=prefix,
        key_hash=hash_secret(secret),
        scope=scope,
        created_by=created_by,
        expires_at=expires_at,
    )
    return key, secret


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    forget_key(key.key_hash)
    return key
