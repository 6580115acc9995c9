"""Console pages: the workspace's own provider keys (owners and admins)."""

from __future__ import annotations

from itertools import groupby

from asgiref.sync import async_to_sync
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from console.permissions import console_of, get_in_workspace_or_404, is_htmx, manager_required, user_of
from gateway.catalog.snapshot import load_catalog
from gateway.models import Provider
from routing_rules import crypto
from routing_rules.forms import ProviderKeyForm
from routing_rules.probe import provider_key_probe
from routing_rules.selectors import provider_key_list
from routing_rules.services import (
    RoutingRulesError,
    provider_key_create,
    provider_key_delete,
    provider_key_make_primary,
    provider_key_update,
)


def _providers() -> list[tuple[str, str]]:
    return list(Provider.objects.filter(enabled=True).order_by("name").values_list("slug", "name"))


def _page(request: HttpRequest, form: ProviderKeyForm, providers: list[tuple[str, str]]) -> HttpResponse:
    workspace = console_of(request).workspace
    names = dict(providers)
    keys = list(provider_key_list(workspace_id=workspace.pk))
    groups = [(names.get(slug, slug), list(rows)) for slug, rows in groupby(keys, key=lambda k: k.provider)]
    return render(request, "console/provider_keys.html", {"groups": groups, "form": form})


@manager_required
def provider_keys(request: HttpRequest) -> HttpResponse:
    providers = _providers()
    form = ProviderKeyForm(request.POST or None, providers=providers)
    if request.method == "POST" and form.is_valid():
        try:
            key = provider_key_create(
                workspace=console_of(request).workspace,
                provider=form.cleaned_data["provider"],
                api_key=form.cleaned_data["api_key"],
                label=form.cleaned_data["label"],
                created_by=user_of(request),
            )
        except RoutingRulesError as exc:
            form.add_error("api_key", str(exc))
        else:
            role = "primary" if key.position == 0 else "a fallback"
            messages.success(request, f"{dict(providers)[key.provider]} key {key.hint} added as {role}.")
            return redirect("console:provider-keys")
    return _page(request, form, providers)


def _key(request: HttpRequest, pk: int):
    return get_in_workspace_or_404(
        provider_key_list(workspace_id=console_of(request).workspace.pk), request, pk=pk
    )


@manager_required
@require_POST
def provider_key_primary(request: HttpRequest, pk: int) -> HttpResponse:
    key = provider_key_make_primary(key=_key(request, pk))
    messages.success(request, f"{key.hint} is now the primary {key.provider} key.")
    return redirect("console:provider-keys")


@manager_required
@require_POST
def provider_key_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key(request, pk)
    provider_key_update(key=key, enabled=not key.enabled)
    messages.success(request, f"{key.hint} {'enabled' if key.enabled else 'disabled'}.")
    return redirect("console:provider-keys")


@manager_required
@require_POST
def provider_key_remove(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key(request, pk)
    provider_key_delete(key=key)
    messages.success(request, f"{key.provider} key {key.hint} deleted.")
    return redirect("console:provider-keys")


@manager_required
@require_POST
def provider_key_test(request: HttpRequest, pk: int) -> HttpResponse:
    key = _key(request, pk)
    result = async_to_sync(provider_key_probe)(
        catalog=load_catalog(), provider=key.provider, api_key=crypto.decrypt(key.ciphertext)
    )
    if is_htmx(request):
        return render(request, "console/_provider_key_test.html", {"result": result, "key": key})
    (messages.success if result.ok else messages.error)(request, f"{key.hint}: {result.message}")
    return redirect("console:provider-keys")
