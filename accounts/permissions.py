"""Workspace scoping for the management API.

Every management view resolves exactly one workspace for the caller: the
admin key's own, or, for a console session, the one named by the
``X-Junction-Workspace`` header (or the user's only membership). Views read
``request.workspace`` and ``request.workspace_role``; they never take a
workspace id from the client's body.
"""

from __future__ import annotations

from rest_framework import permissions

from accounts.authentication import ApiKeyUser
from accounts.models import Membership, Role

WRITE_ROLES = {Role.OWNER, Role.ADMIN}


def resolve_workspace(request) -> bool:
    user = request.user
    if isinstance(user, ApiKeyUser):
        request.workspace = user.workspace
        request.workspace_role = Role.ADMIN
        return True
    if not user or not user.is_authenticated:
        return False
    memberships = Membership.objects.select_related("workspace").filter(user=user, workspace__is_active=True)
    slug = request.headers.get("X-Junction-Workspace")
    if slug:
        memberships = memberships.filter(workspace__slug=slug)
    found = list(memberships[:2])
    if len(found) != 1:
        return False
    request.workspace = found[0].workspace
    request.workspace_role = found[0].role
    return True


class IsWorkspaceMember(permissions.BasePermission):
    """Any member may read; owners and admins may write."""

    message = "You are not a member of this workspace, or your role may not change it."

    def has_permission(self, request, view) -> bool:
        if not resolve_workspace(request):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return request.workspace_role in WRITE_ROLES
