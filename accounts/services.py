"""Writers for accounts: workspaces, memberships, API keys."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from accounts.keys import generate_secret, hash_secret
from accounts.models import ApiKey, Invitation, KeyKind, KeyScope, Membership, Role, Workspace
from billing.money import credits_to_units
from billing.selectors import default_plan
from billing.services.ledger import credits_grant
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


@dataclass(frozen=True, slots=True)
class ProvisionedWorkspace:
    workspace: Workspace
    key: ApiKey | None = None
    secret: str = ""  # the key's secret, shown once by the caller


@transaction.atomic
def workspace_provision(
    *,
    slug: str,
    owner_email: str,
    name: str = "",
    credits: int = 0,
    credits_reason: str = "Initial credits",
    key_name: str | None = None,
) -> ProvisionedWorkspace:
    """What an operator's command opens a tenant with: the workspace and its
    owner (``workspace_create``), ``credits`` granted once (1 credit = $0.01),
    and an inference key named ``key_name`` when one is asked for. All or
    nothing."""
    if credits < 0:
        raise AccountsError("Credits must not be negative.")
    workspace = workspace_create(slug=slug, owner_email=owner_email, name=name)
    if credits:
        credits_grant(
            workspace_id=workspace.pk,
            units=credits_to_units(credits),
            reason=credits_reason,
            idempotency_key=f"initial:{workspace.pk}",
        )
    if key_name is None:
        return ProvisionedWorkspace(workspace)
    key, secret = api_key_create(workspace=workspace, name=key_name)
    return ProvisionedWorkspace(workspace, key, secret)


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
    kind: str = KeyKind.API,
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
        kind=kind,
    )
    return key, secret


def api_keys_mark_used(*, used: Mapping[int, datetime]) -> int:
    """Set keys' ``last_used_at`` (key id -> when it was last used) in one
    UPDATE; a key already marked later (by another process) keeps its time."""
    if not used:
        return 0
    newer = [
        When(Q(pk=key_id) & (Q(last_used_at__isnull=True) | Q(last_used_at__lt=at)), then=Value(at))
        for key_id, at in used.items()
    ]
    return ApiKey.objects.filter(pk__in=list(used)).update(
        last_used_at=Case(*newer, default=F("last_used_at"), output_field=DateTimeField())
    )


def chat_key_for_member(*, membership: Membership) -> ApiKey:
    """The chat app's key for one member of one workspace, made on first use.
    Its secret is thrown away: the chat app acts with it in-process (by its
    hash), after the person signed in, so nothing can leak or be shown."""
    key = (
        ApiKey.objects.filter(
            workspace_id=membership.workspace_id,
            created_by_id=membership.user_id,
            kind=KeyKind.CHAT,
            revoked_at__isnull=True,
        )
        .order_by("pk")
        .first()
    )
    if key is not None:
        return key
    key, _secret = api_key_create(
        workspace=membership.workspace,
        name=f"Chat app ({membership.user.email or membership.user.get_username()})",
        created_by=membership.user,
        kind=KeyKind.CHAT,
    )
    return key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    forget_key(key.key_hash)
    return key


def workspace_rename(*, workspace: Workspace, name: str) -> Workspace:
    name = name.strip()
    if not name:
        raise AccountsError("A workspace needs a name.")
    workspace.name = name[:200]
    workspace.save(update_fields=["name"])
    return workspace


# ------------------------------------------------------------ members, invitations

INVITATION_TTL = timedelta(days=7)


def _may_grant(*, actor: Membership, role: str) -> None:
    """Owners grant any role; admins grant admin and member; members nothing."""
    if actor.role == Role.OWNER:
        return
    if actor.role != Role.ADMIN or role == Role.OWNER:
        raise AccountsError("Only owners can make owners." if role == Role.OWNER else "You may not do this.")


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, email: str, role: str, invited_by: Membership
) -> tuple[Invitation, str]:
    """Invite ``email`` with ``role``; return the invitation and the token for
    its link (never stored). A pending invitation to the same address is replaced."""
    email = email.strip().lower()
    if role not in Role.values:
        raise AccountsError(f"Unknown role '{role}'.")
    _may_grant(actor=invited_by, role=role)
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise AccountsError(f"{email} is already a member of this workspace.")
    Invitation.objects.filter(workspace=workspace, email=email, accepted_at__isnull=True).delete()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        invited_by=invited_by.user,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    return invitation, token


def invitation_email_send(*, invitation: Invitation, accept_url: str) -> None:
    context = {"invitation": invitation, "accept_url": accept_url, "inviter": invitation.invited_by}
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.accepted_at is None:
        invitation.delete()


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the workspace. The signed-in person's address must be the invited one."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise AccountsError("This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        raise AccountsError("This invitation has expired; ask for a new one.")
    if (getattr(user, "email", "") or "").lower() != invitation.email:
        raise AccountsError(
            f"This invitation is for {invitation.email}; log in with that address to accept it."
        )
    membership, _ = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def _other_owners(membership: Membership) -> bool:
    owners = Membership.objects.select_for_update().filter(
        workspace_id=membership.workspace_id, role=Role.OWNER
    )
    return owners.exclude(pk=membership.pk).exists()


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    if role not in Role.values:
        raise AccountsError(f"Unknown role '{role}'.")
    if membership.role == Role.OWNER or role == Role.OWNER:
        _may_grant(actor=actor, role=Role.OWNER)
    else:
        _may_grant(actor=actor, role=role)
    if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners(membership):
        raise AccountsError("A workspace needs at least one owner: make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    _may_grant(actor=actor, role=membership.role)
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise AccountsError("A workspace needs at least one owner: make someone else owner first.")
    # The person's chat app key goes with their membership.
    for key in ApiKey.objects.filter(
        workspace_id=membership.workspace_id,
        created_by_id=membership.user_id,
        kind=KeyKind.CHAT,
        revoked_at__isnull=True,
    ):
        api_key_revoke(key=key)
    membership.delete()
