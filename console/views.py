"""Console pages that belong to no single app: the overview and the switcher."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from console.permissions import choose_workspace, member_required, resolve_console


def landing(request: HttpRequest) -> HttpResponse:
    """``/``: the console for a signed-in person, else a short landing page."""
    if request.user.is_authenticated:
        return redirect("console:overview")
    base_url = request.build_absolute_uri("/v1")
    return render(request, "landing.html", {"base_url": base_url})


@member_required
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "console/overview.html")


@login_required
@require_POST
def switch_workspace(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError:
        workspace_id = 0
    if not choose_workspace(request, workspace_id=workspace_id):
        messages.error(request, "You are not a member of that workspace.")
    # Back to the same section (an object of the old workspace would be a 404).
    target = request.POST.get("next", "")
    if not target.startswith("/console/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = ""
    return redirect(target or "console:overview")


@login_required
def no_workspace(request: HttpRequest) -> HttpResponse:
    if resolve_console(request) is not None:
        return redirect("console:overview")
    return render(request, "console/no_workspace.html")
