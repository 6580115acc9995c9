"""Console page: the model catalog (any member)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.permissions import console_of, is_htmx, member_required
from gateway.catalog.selectors import catalog_capabilities, catalog_providers, catalog_search


@member_required
def models_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    provider = request.GET.get("provider", "")
    capability = request.GET.get("capability", "")
    entries = catalog_search(
        workspace_id=console_of(request).workspace.pk,
        query=query,
        provider=provider,
        capability=capability,
    )
    context = {
        "entries": entries,
        "q": query,
        "provider": provider,
        "capability": capability,
        "providers": catalog_providers(),
        "capabilities": catalog_capabilities(),
    }
    template = "console/_models_table.html" if is_htmx(request) else "console/models.html"
    return render(request, template, context)
