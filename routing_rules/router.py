"""The router: a request's model string -> ordered candidate deployments and a
trace of why. Pure: takes the catalog snapshot, does no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.canonical import CanonicalRequest
from gateway.catalog.snapshot import Catalog, DeploymentInfo, ModelInfo
from gateway.errors import ErrorType, GatewayError


@dataclass(slots=True)
class RouteDecision:
    model: ModelInfo
    candidates: list[DeploymentInfo]
    mode: str | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)


def split_provider_prefix(name: str, catalog: Catalog) -> tuple[str | None, str]:
    """``anthropic:claude-sonnet-4-5`` -> ("anthropic", "claude-sonnet-4-5")."""
    head, sep, tail = name.partition(":")
    if sep and head in catalog.providers:
        return head, tail
    return None, name


def route(
    request: CanonicalRequest, catalog: Catalog, *, is_configured: Callable[[DeploymentInfo], bool]
) -> RouteDecision:
    pinned, name = split_provider_prefix(request.model, catalog)
    model = catalog.lookup(name)
    if model is None:
        raise GatewayError(
            ErrorType.MODEL_NOT_FOUND,
            f"The model '{request.model}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    deployments = catalog.deployments.get(model.model_id, ())
    trace: list[dict[str, Any]] = []
    if pinned:
        deployments = tuple(d for d in deployments if d.provider.slug == pinned)
        trace.append({"step": "provider_prefix", "provider": pinned})
    candidates = [d for d in deployments if is_configured(d)]
    trace.append({"step": "configured", "candidates": [d.provider.slug for d in candidates]})
    if not candidates:
        raise GatewayError(
            ErrorType.ROUTING,
            "No eligible providers available for this request.",
            param="model",
            code="no_eligible_provider",
            rule_trace=trace,
        )
    return RouteDecision(model=model, candidates=candidates, trace=trace)
