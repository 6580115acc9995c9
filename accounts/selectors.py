"""Readers for accounts."""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.keys import hash_secret
from accounts.models import ApiKey, Invitation, KeyKind, Membership, Workspace
from gateway.models import RequestLog


def api_key_by_hash(*, key_hash: str, related: tuple[str, ...] = ()) -> ApiKey | None:
    """``related``: further relations to load in the same query (the gateway
    loads the key's billing limits with it)."""
    return ApiKey.objects.select_related("workspace", *related).filter(key_hash=key_hash).first()


def api_key_by_prefix(*, prefix: str) -> ApiKey | None:
    return ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()


def workspace_by_slug(*, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()


def invitation_by_token(*, token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("workspace", "invited_by")
        .filter(token_hash=hash_secret(token))
        .first()
    )


def pending_invitations(*, workspace_id: int) -> QuerySet[Invitation]:
    return (
        Invitation.objects.select_related("invited_by")
        .filter(workspace_id=workspace_id, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created_at")
    )


def workspace_members(*, workspace_id: int) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user")
        .filter(workspace_id=workspace_id)
        .order_by("created_at", "pk")
    )


def api_key_list(*, workspace_id: int, created_by_id: int | None = None) -> QuerySet[ApiKey]:
    """The workspace's keys (only those ``created_by_id`` made, when given),
    newest first, with their limits and ``last_used`` (the newest request log
    row of each key: one index lookup per key, in the same query)."""
    newest_call = (
        RequestLog.objects.filter(api_key_id=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    )
    keys = ApiKey.objects.filter(workspace_id=workspace_id, kind=KeyKind.API)
    if created_by_id is not None:
        keys = keys.filter(created_by_id=created_by_id)
    return (
        keys.select_related("limits", "created_by")
        .annotate(last_used=Coalesce("last_used_at", Subquery(newest_call)))
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at")
    )
