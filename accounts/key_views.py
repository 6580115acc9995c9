"""Console pages: API keys. Owners and admins manage every key of the
workspace; members see and manage the inference keys they made."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import ApiKeyCreateForm
from accounts.selectors import api_key_list
from accounts.services import api_key_create, api_key_revoke
from billing.services.limits import key_limits_set
from console.permissions import console_of, get_in_workspace_or_404, member_required, user_of


def _visible_keys(request: HttpRequest):
    console = console_of(request)
    return api_key_list(
        workspace_id=console.workspace.pk, created_by_id=None if console.is_manager else request.user.pk
    )


@member_required
def api_keys(request: HttpRequest) -> HttpResponse:
    keys = list(_visible_keys(request))
    return render(request, "console/api_keys.html", {"keys": keys, "now": timezone.now()})


@member_required
def api_key_new(request: HttpRequest) -> HttpResponse:
    console = console_of(request)
    form = ApiKeyCreateForm(request.POST or None, may_create_admin=console.is_manager)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            key, secret = api_key_create(
                workspace=console.workspace,
                name=data["name"],
                scope=data["scope"],
                created_by=user_of(request),
                expires_at=form.expires_at,
            )
            if form.has_limits:
                key_limits_set(
                    key=key,
                    rpm_limit=data["rpm_limit"],
                    tpm_limit=data["tpm_limit"],
                    spend_limit_units=form.spend_limit_units,
                    spend_period=data["spend_period"],
                )
        # The secret is in this one answer and nowhere else (not stored, not in the session).
        response = render(request, "console/api_key_created.html", {"key": key, "secret": secret})
        response["Cache-Control"] = "no-store"
        return response
    return render(request, "console/api_key_new.html", {"form": form})


@member_required
@require_POST
def api_key_revoke_view(request: HttpRequest, prefix: str) -> HttpResponse:
    key = get_in_workspace_or_404(_visible_keys(request), request, prefix=prefix)
    api_key_revoke(key=key)
    messages.success(request, f"Key {key.prefix}… revoked. It stops working within seconds.")
    return redirect("console:api-keys")
