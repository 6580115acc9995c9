"""Who is asking, in which workspace, with which role: the console's one gate.

Every console view is wrapped in one of the decorators below. They

- send an anonymous visitor to the login page (``?next=`` back here);
- resolve the person's *current* workspace: the one chosen with the switcher
  (kept in the session), else their oldest membership; a person with no
  membership at all is sent to the "no workspace" page;
- refuse a role that may not see the page with 403 (``PermissionDenied``);
- put ``request.console`` (a :class:`ConsoleContext`) on the request.

Objects are always looked up inside the current workspace
(:func:`get_in_workspace_or_404`), so another workspace's id is a 404, never a
403 that would confirm it exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from accounts.adapter import SESSION_WORKSPACE_KEY
from accounts.models import Membership, Role, Workspace

MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN})

M = TypeVar("M", bound=Model)
View = Callable[..., HttpResponse]


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    """The signed-in person's current workspace, their role in it, and every
    workspace they belong to (for the switcher)."""

    membership: Membership
    memberships: tuple[Membership, ...]

    @property
    def workspace(self) -> Workspace:
        return self.membership.workspace

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def is_manager(self) -> bool:
        """Owners and admins manage everything; members see usage and logs and
        manage their own inference keys."""
        return self.role in MANAGER_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


def console_of(request: HttpRequest) -> ConsoleContext:
    """The context a console decorator put on ``request``."""
    return request.console  # type: ignore[attr-defined]


def user_of(request: HttpRequest) -> User:
    """The signed-in person of a request a console decorator let through."""
    assert isinstance(request.user, User)
    return request.user


def resolve_console(request: HttpRequest) -> ConsoleContext | None:
    """The person's memberships (one query) and the current one, or None when
    they belong to no active workspace."""
    if not request.user.is_authenticated:
        return None
    memberships = tuple(
        Membership.objects.select_related("workspace")
        .filter(user=user_of(request), workspace__is_active=True)
        .order_by("created_at", "pk")
    )
    if not memberships:
        return None
    chosen = request.session.get(SESSION_WORKSPACE_KEY)
    current = next((m for m in memberships if m.workspace_id == chosen), memberships[0])
    return ConsoleContext(membership=current, memberships=memberships)


def choose_workspace(request: HttpRequest, *, workspace_id: int) -> bool:
    """Make ``workspace_id`` the current workspace if the person belongs to it."""
    if not request.user.is_authenticated:
        return False
    ok = Membership.objects.filter(
        user=user_of(request), workspace_id=workspace_id, workspace__is_active=True
    ).exists()
    if ok:
        request.session[SESSION_WORKSPACE_KEY] = workspace_id
    return ok


def _gate(*, manager: bool = False, owner: bool = False) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            console = resolve_console(request)
            if console is None:
                return redirect("console:no-workspace")
            request.console = console  # type: ignore[attr-defined]
            if owner and not console.is_owner:
                raise PermissionDenied("Only the workspace's owners can do this.")
            if manager and not console.is_manager:
                raise PermissionDenied("Only the workspace's owners and admins can see this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


member_required = _gate()
"""Any member of the current workspace (usage, logs, their own inference keys)."""

manager_required = _gate(manager=True)
"""Owners and admins only (provider keys, rules, firewall, billing, members, settings)."""

owner_required = _gate(owner=True)
"""Owners only (making or removing owners)."""


def get_in_workspace_or_404(queryset: QuerySet[M], request: HttpRequest, **lookup: Any) -> M:
    """One object of the current workspace; another workspace's is a 404."""
    return get_object_or_404(queryset.filter(workspace=console_of(request).workspace), **lookup)


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx made the request (django-htmx's middleware reads the header)."""
    return bool(getattr(request, "htmx", False))
