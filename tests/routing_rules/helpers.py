"""Pure-test helpers: the shipped catalog as an in-memory snapshot, requests."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings

from gateway.canonical import CanonicalRequest
from gateway.catalog.snapshot import Catalog, DeploymentInfo, ModelInfo, Prices, ProviderInfo
from gateway.dialects import chat
from routing_rules.router import CompiledRule, compile_rule


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    doc = json.loads(settings.CATALOG_FILE.read_text())
    providers = {
        p["slug"]: ProviderInfo(p["slug"], p["name"], p["kind"], p["base_url"], p.get("requires_key", True))
        for p in doc["providers"]
    }
    models: dict[str, ModelInfo] = {}
    aliases: dict[str, str] = {}
    deployments: dict[str, list[DeploymentInfo]] = {}
    next_id = 1
    for m in doc["models"]:
        prices = {k: Decimal(v) for k, v in m.get("prices", {}).items()}
        info = ModelInfo(
            model_id=m["model_id"],
            display_name=m["model_id"],
            owned_by=m["owned_by"],
            created=0,
            context_window=m["context_window"],
            max_output_tokens=m["max_output_tokens"],
            capabilities=frozenset(m.get("capabilities", [])),
            quality_tier=m.get("quality_tier", 2),
            prices=Prices(**prices),
            aliases=tuple(m.get("aliases", [])),
        )
        models[info.model_id] = info
        for a in info.aliases:
            aliases[a] = info.model_id
        for d in sorted(m.get("deployments", []), key=lambda d: d.get("priority", 100)):
            deployments.setdefault(info.model_id, []).append(
                DeploymentInfo(
                    next_id, info, providers[d["provider"]], d["upstream_model"], d.get("priority", 100)
                )
            )
            next_id += 1
    return Catalog(models, aliases, providers, {k: tuple(v) for k, v in deployments.items()})


def deployment(model_id: str, provider: str) -> DeploymentInfo:
    return next(d for d in shipped_catalog().deployments[model_id] if d.provider.slug == provider)


def chat_request(model: str = "gpt-4o-mini", text: str = "hello", **body: Any) -> CanonicalRequest:
    messages = body.pop("messages", None) or [{"role": "user", "content": text}]
    return chat.decode({"model": model, "messages": messages, **body}, {})


def rule(rule_id: int, conditions: list[dict[str, Any]], action: dict[str, Any], **kw: Any) -> CompiledRule:
    return compile_rule(
        id=rule_id,
        name=kw.get("name", f"rule {rule_id}"),
        priority=kw.get("priority", rule_id * 10),
        match=kw.get("match", "all"),
        conditions=conditions,
        action=action,
    )


def everyone(_: DeploymentInfo) -> bool:
    return True


def only(*providers: str):
    return lambda d: d.provider.slug in providers
