"""Readers of the model catalog for people (the console); the hot path reads
``gateway.catalog.snapshot`` instead."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, Q

from gateway.models import CatalogModel, Deployment, Provider
from routing_rules.models import ProviderKey


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    model_id: str
    display_name: str
    providers: tuple[str, ...]  # provider names, in deployment order
    capabilities: tuple[str, ...]
    context_window: int
    max_output_tokens: int
    input_price: Decimal  # USD per 1M tokens
    cached_input_price: Decimal
    output_price: Decimal
    available: bool  # some deployment's provider has credentials (the platform's or the workspace's)


def usable_provider_slugs(*, workspace_id: int) -> set[str]:
    """Providers a call from this workspace can reach: the platform's configured
    ones, those needing no key, and those the workspace brought a key for."""
    own = set(
        ProviderKey.objects.filter(workspace_id=workspace_id, enabled=True).values_list("provider", flat=True)
    )
    configured = {slug for slug, creds in settings.PROVIDER_CREDENTIALS.items() if creds.get("api_key")}
    keyless = set(Provider.objects.filter(requires_key=False).values_list("slug", flat=True))
    return own | configured | keyless


def catalog_providers() -> list[tuple[str, str]]:
    return list(Provider.objects.filter(enabled=True).order_by("name").values_list("slug", "name"))


def catalog_capabilities() -> list[str]:
    found: set[str] = set()
    for caps in CatalogModel.objects.filter(enabled=True).values_list("capabilities", flat=True):
        found.update(caps or ())
    return sorted(found)


def catalog_search(
    *, workspace_id: int, query: str = "", provider: str = "", capability: str = ""
) -> list[CatalogEntry]:
    """Enabled models with an enabled deployment, by name. The capability
    filter runs here rather than in SQL: JSON containment is not portable to
    SQLite, and the catalog is a few hundred rows at most."""
    deployments = Deployment.objects.filter(enabled=True, provider__enabled=True).select_related("provider")
    models = CatalogModel.objects.filter(enabled=True, deployments__in=deployments)
    if query:
        models = models.filter(Q(model_id__icontains=query) | Q(display_name__icontains=query))
    if provider:
        models = models.filter(deployments__provider__slug=provider, deployments__enabled=True)
    models = models.distinct().order_by("model_id")
    models = models.prefetch_related(
        Prefetch("deployments", queryset=deployments.order_by("priority", "id"), to_attr="live")
    )
    usable = usable_provider_slugs(workspace_id=workspace_id)
    out = []
    for m in models:
        caps = tuple(sorted(m.capabilities or ()))
        if capability and capability not in caps:
            continue
        out.append(
            CatalogEntry(
                model_id=m.model_id,
                display_name=m.display_name or m.model_id,
                providers=tuple(dict.fromkeys(d.provider.name for d in m.live)),
                capabilities=caps,
                context_window=m.context_window,
                max_output_tokens=m.max_output_tokens,
                input_price=m.input_price,
                cached_input_price=m.cached_input_price,
                output_price=m.output_price,
                available=any(d.provider.slug in usable for d in m.live),
            )
        )
    return out
