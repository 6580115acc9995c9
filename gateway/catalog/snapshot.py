"""A read-only, in-process snapshot of the catalog for the hot path.

Reloaded from the database at most every ``CATALOG_TTL`` seconds, so routing
a request never costs a query. Credentials are not part of the snapshot: they
are read from settings at dispatch (see ``provider_credentials``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings

from gateway.models import CatalogModel, Deployment, Provider
from gateway.singleflight import SingleFlight


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    slug: str
    name: str
    kind: str
    base_url: str
    requires_key: bool


@dataclass(frozen=True, slots=True)
class Prices:
    input: Decimal = Decimal(0)
    cached_input: Decimal = Decimal(0)
    output: Decimal = Decimal(0)
    image: Decimal = Decimal(0)
    web_search: Decimal = Decimal(0)
    cache_write_5m: Decimal = Decimal(0)  # 0: as input
    cache_write_1h: Decimal = Decimal(0)  # 0: as input
    reasoning: Decimal = Decimal(0)  # 0: as output
    # Image models: (quality, size, USD per image) rows of the catalog's image_prices.
    images: tuple[tuple[str, str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    model_id: str
    display_name: str
    owned_by: str
    created: int
    context_window: int
    max_output_tokens: int
    capabilities: frozenset[str]
    quality_tier: int
    prices: Prices
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    id: int
    model: ModelInfo
    provider: ProviderInfo
    upstream_model: str
    priority: int


@dataclass(frozen=True, slots=True)
class Catalog:
    models: dict[str, ModelInfo] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    providers: dict[str, ProviderInfo] = field(default_factory=dict)
    deployments: dict[str, tuple[DeploymentInfo, ...]] = field(default_factory=dict)

    def lookup(self, name: str) -> ModelInfo | None:
        model = self.models.get(name)
        if model is None and name in self.aliases:
            model = self.models.get(self.aliases[name])
        return model


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    base_url: str


def provider_credentials(provider: ProviderInfo) -> Credentials | None:
    """The platform's credentials for a provider, or None when it is not configured."""
    configured = settings.PROVIDER_CREDENTIALS.get(provider.slug, {})
    api_key = configured.get("api_key", "")
    base_url = (configured.get("base_url") or provider.base_url).rstrip("/")
    if provider.requires_key and not api_key:
        return None
    return Credentials(api_key=api_key, base_url=base_url)


def image_price_rows(table: object) -> tuple[tuple[str, str, Decimal], ...]:
    """The catalog's ``{quality: {size: price}}`` as sorted rows (bad entries skipped)."""
    rows: list[tuple[str, str, Decimal]] = []
    if isinstance(table, dict):
        for quality, sizes in table.items():
            if isinstance(sizes, dict):
                rows.extend((str(quality), str(size), Decimal(str(price))) for size, price in sizes.items())
    return tuple(sorted(rows))


def load_catalog() -> Catalog:
    providers = {
        p.slug: ProviderInfo(p.slug, p.name, p.kind, p.base_url, p.requires_key)
        for p in Provider.objects.filter(enabled=True)
    }
    models: dict[str, ModelInfo] = {}
    aliases: dict[str, str] = {}
    for m in CatalogModel.objects.filter(enabled=True):
        models[m.model_id] = ModelInfo(
            model_id=m.model_id,
            display_name=m.display_name or m.model_id,
            owned_by=m.owned_by,
            created=m.created,
            context_window=m.context_window,
            max_output_tokens=m.max_output_tokens,
            capabilities=frozenset(m.capabilities or ()),
            quality_tier=m.quality_tier,
            prices=Prices(
                input=m.input_price,
                cached_input=m.cached_input_price,
                output=m.output_price,
                image=m.image_price,
                web_search=m.web_search_price,
                cache_write_5m=m.cache_write_5m_price,
                cache_write_1h=m.cache_write_1h_price,
                reasoning=m.reasoning_price,
                images=image_price_rows(m.image_prices),
            ),
            aliases=tuple(m.aliases or ()),
        )
        for alias in m.aliases or ():
            aliases.setdefault(alias, m.model_id)
    deployments: dict[str, list[DeploymentInfo]] = {}
    for d in (
        Deployment.objects.filter(enabled=True).select_related("model", "provider").order_by("priority", "id")
    ):
        model = models.get(d.model.model_id)
        provider = providers.get(d.provider.slug)
        if model is None or provider is None:
            continue
        deployments.setdefault(model.model_id, []).append(
            DeploymentInfo(d.id, model, provider, d.upstream_model, d.priority)
        )
    return Catalog(
        models=models,
        aliases=aliases,
        providers=providers,
        deployments={k: tuple(v) for k, v in deployments.items()},
    )


class _CatalogCache:
    """Per-process holder. One instance, below; state is the snapshot and its age.
    Calls that find it stale together share one reload."""

    def __init__(self) -> None:
        self.catalog: Catalog | None = None
        self.loaded_at = 0.0
        self._reloads: SingleFlight[Catalog] = SingleFlight()

    async def get(self) -> Catalog:
        catalog = self.catalog
        if catalog is None or time.monotonic() - self.loaded_at >= settings.CATALOG_TTL:
            return await self._reloads.run(None, self._reload)
        return catalog

    async def _reload(self) -> Catalog:
        catalog = await sync_to_async(load_catalog)()
        if self._reloads.is_current(None):  # not invalidated while it loaded
            self.catalog = catalog
            self.loaded_at = time.monotonic()
        return catalog

    def invalidate(self) -> None:
        self.catalog = None
        self._reloads.forget(None)


_cache = _CatalogCache()


async def get_catalog() -> Catalog:
    return await _cache.get()


def invalidate_catalog() -> None:
    _cache.invalidate()
