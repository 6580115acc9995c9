"""Writes the catalog: loading the shipped catalog file (idempotent)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from gateway.models import CatalogModel, Deployment, Provider

PRICE_FIELDS = {
    "input": "input_price",
    "cached_input": "cached_input_price",
    "output": "output_price",
    "image": "image_price",
    "web_search": "web_search_price",
    "cache_write_5m": "cache_write_5m_price",
    "cache_write_1h": "cache_write_1h_price",
    "reasoning": "reasoning_price",
}


@transaction.atomic
def catalog_sync(*, path: Path) -> dict[str, int]:
    """Create or update every provider, model and deployment named in the file.
    Rows the file does not name (an operator's own) are left alone."""
    doc: dict[str, Any] = json.loads(Path(path).read_text())
    counts = {"providers": 0, "models": 0, "deployments": 0}
    providers: dict[str, Provider] = {}
    for entry in doc["providers"]:
        provider, _ = Provider.objects.update_or_create(
            slug=entry["slug"],
            defaults={
                "name": entry["name"],
                "kind": entry["kind"],
                "base_url": entry["base_url"],
                "requires_key": entry.get("requires_key", True),
            },
        )
        providers[provider.slug] = provider
        counts["providers"] += 1
    for entry in doc["models"]:
        prices = {PRICE_FIELDS[k]: Decimal(v) for k, v in entry.get("prices", {}).items()}
        model, _ = CatalogModel.objects.update_or_create(
            model_id=entry["model_id"],
            defaults={
                "display_name": entry.get("display_name", entry["model_id"]),
                "owned_by": entry["owned_by"],
                "created": entry.get("created", 0),
                "context_window": entry["context_window"],
                "max_output_tokens": entry["max_output_tokens"],
                "capabilities": entry.get("capabilities", []),
                "quality_tier": entry.get("quality_tier", 2),
                "aliases": entry.get("aliases", []),
                "image_prices": entry.get("image_prices", {}),
                **prices,
            },
        )
        counts["models"] += 1
        for dep in entry.get("deployments", []):
            provider = providers.get(dep["provider"]) or Provider.objects.get(slug=dep["provider"])
            Deployment.objects.update_or_create(
                model=model,
                provider=provider,
                defaults={"upstream_model": dep["upstream_model"], "priority": dep.get("priority", 100)},
            )
            counts["deployments"] += 1
    return counts
