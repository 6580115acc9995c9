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
    # Import here: gateway depends on accounts, not the other way round at import time.
    from gateway.auth import forget_key

    forget_key(key.key_hash)
    return key
