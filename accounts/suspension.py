"""Writers: an operator suspends a workspace, or lifts the suspension.

A suspended workspace's keys are refused on /v1 and the management API
(403 ``workspace_suspended``); its members still sign in to the console,
which tells them why. Every key of the workspace is dropped from the key
caches (this process's, and the shared Redis entry), so every process
refuses them within ``API_KEY_LOCAL_TTL`` seconds, as with a revocation.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Workspace
from gateway.auth import forget_key


def _forget_keys(workspace: Workspace) -> None:
    for key_hash in ApiKey.objects.filter(workspace=workspace).values_list("key_hash", flat=True):
        forget_key(key_hash)


def workspace_suspend(*, workspace: Workspace, reason: str) -> Workspace:
    reason = reason.strip()
    if not reason:
        raise ValueError("A suspension needs a reason: the workspace's members are shown it.")
    with transaction.atomic():
        workspace.suspended = True
        workspace.suspended_reason = reason[:500]
        workspace.suspended_at = timezone.now()
        workspace.save(update_fields=["suspended", "suspended_reason", "suspended_at"])
    _forget_keys(workspace)
    return workspace


def workspace_unsuspend(*, workspace: Workspace) -> Workspace:
    workspace.suspended = False
    workspace.suspended_reason = ""
    workspace.suspended_at = None
    workspace.save(update_fields=["suspended", "suspended_reason", "suspended_at"])
    _forget_keys(workspace)
    return workspace
