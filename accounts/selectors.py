"""Readers for accounts."""

from __future__ import annotations

from accounts.models import ApiKey, Workspace


def api_key_by_hash(*, key_hash: str, related: tuple[str, ...] = ()) -> ApiKey | None:
    """``related``: further relations to load in the same query (the gateway
    loads the key's billing limits with it)."""
    return ApiKey.objects.select_related("workspace", *related).filter(key_hash=key_hash).first()


def api_key_by_prefix(*, prefix: str) -> ApiKey | None:
    return ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()


def workspace_by_slug(*, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()
