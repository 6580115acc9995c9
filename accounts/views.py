"""Account pages of our own (allauth serves the rest): accepting an
invitation; and the console's Members and Settings pages."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.adapter import SESSION_INVITATION_KEY
from accounts.forms import InvitationForm, RoleForm, WorkspaceForm
from accounts.models import Invitation, Membership, Role
from accounts.selectors import invitation_by_token, pending_invitations, workspace_members
from accounts.services import (
    AccountsError,
    invitation_accept,
    invitation_create,
    invitation_email_send,
    invitation_revoke,
    membership_change_role,
    membership_remove,
    workspace_rename,
)
from console.permissions import choose_workspace, console_of, get_in_workspace_or_404, manager_required


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation email. A signed-in person accepts it here; a
    visitor signs up (the address counts as confirmed: the link proves it) or
    logs in first."""
    found = invitation_by_token(token=token)
    if found is None:
        raise Http404("No such invitation.")
    usable = found.accepted_at is None and found.expires_at > timezone.now()
    if request.method == "POST" and request.user.is_authenticated and usable:
        try:
            membership = invitation_accept(invitation=found, user=request.user)
        except AccountsError as exc:
            messages.error(request, str(exc))
        else:
            choose_workspace(request, workspace_id=membership.workspace_id)
            messages.success(request, f"You joined {found.workspace.name}.")
            return redirect("console:overview")
    if usable and not request.user.is_authenticated:
        request.session[SESSION_INVITATION_KEY] = token
        get_adapter(request).stash_verified_email(request, found.email)
    return render(
        request,
        "accounts/invitation.html",
        {"invitation": found, "usable": usable, "expired": found.expires_at <= timezone.now()},
    )


# ------------------------------------------------------------ console: members, settings


def _members_page(request: HttpRequest, invite_form: InvitationForm) -> HttpResponse:
    workspace = console_of(request).workspace
    context = {
        "members": list(workspace_members(workspace_id=workspace.pk)),
        "invitations": list(pending_invitations(workspace_id=workspace.pk)),
        "invite_form": invite_form,
        "roles": Role.choices,
    }
    return render(request, "console/members.html", context)


@manager_required
def members(request: HttpRequest) -> HttpResponse:
    return _members_page(request, InvitationForm())


@manager_required
@require_POST
def member_invite(request: HttpRequest) -> HttpResponse:
    console = console_of(request)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, form)
    try:
        invitation, token = invitation_create(
            workspace=console.workspace,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=console.membership,
        )
    except AccountsError as exc:
        form.add_error("email", str(exc))
        return _members_page(request, form)
    accept_url = request.build_absolute_uri(reverse("accounts-invitation", args=[token]))
    invitation_email_send(invitation=invitation, accept_url=accept_url)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("console:members")


@manager_required
@require_POST
def invitation_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_in_workspace_or_404(Invitation.objects.filter(accepted_at__isnull=True), request, pk=pk)
    invitation_revoke(invitation=found)
    messages.success(request, f"Invitation to {found.email} withdrawn.")
    return redirect("console:members")


@manager_required
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_in_workspace_or_404(Membership.objects.select_related("user"), request, pk=pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick one of the roles.")
        return redirect("console:members")
    try:
        membership_change_role(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=console_of(request).membership,
        )
    except AccountsError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    return redirect("console:members")


@manager_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_in_workspace_or_404(Membership.objects.select_related("user"), request, pk=pk)
    try:
        membership_remove(membership=membership, actor=console_of(request).membership)
    except AccountsError as exc:
        messages.error(request, str(exc))
        return redirect("console:members")
    if membership.user_id == request.user.pk:
        return redirect("console:overview")
    messages.success(request, f"{membership.user.email} was removed from the workspace.")
    return redirect("console:members")


@manager_required
def workspace_settings(request: HttpRequest) -> HttpResponse:
    workspace = console_of(request).workspace
    form = WorkspaceForm(request.POST or None, initial={"name": workspace.name})
    if request.method == "POST" and form.is_valid():
        try:
            workspace_rename(workspace=workspace, name=form.cleaned_data["name"])
        except AccountsError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, "Workspace renamed.")
            return redirect("console:settings")
    return render(request, "console/settings.html", {"form": form})
