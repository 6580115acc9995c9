"""Testing a provider key: one tiny chat call to the provider with that key.

The call goes through the provider's own adapter and Junction's upstream HTTP
client, exactly as a routed request would, to the provider's cheapest chat
model in the catalog (a 1-word prompt, at most 16 output tokens). It is paid by
the key's owner upstream and never charged by Junction. The answer is either
success or the provider's own error message, as the gateway maps it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from gateway.canonical import CanonicalRequest, Dialect, Message, Role, TextPart
from gateway.catalog.snapshot import Catalog, DeploymentInfo
from gateway.errors import GatewayError
from gateway.http import UpstreamFailure, UpstreamTimeout, upstream_post
from gateway.providers import provider_adapter

PROBE_MAX_OUTPUT_TOKENS = 16  # the smallest every provider accepts (OpenAI's Responses API floor)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    message: str
    model: str = ""
    status: int | None = None
    latency_ms: int = 0


def probe_deployment(catalog: Catalog, provider: str) -> DeploymentInfo | None:
    """The provider's cheapest chat model (reasoning models last: they may
    spend the token budget thinking)."""
    chat = [
        d
        for deployments in catalog.deployments.values()
        for d in deployments
        if d.provider.slug == provider and not {"embeddings", "image_generation"} & d.model.capabilities
    ]
    if not chat:
        return None
    return min(
        chat,
        key=lambda d: (
            "reasoning" in d.model.capabilities,
            d.model.prices.input + d.model.prices.output,
            d.model.model_id,
        ),
    )


def base_url_for(deployment: DeploymentInfo) -> str:
    configured = settings.PROVIDER_CREDENTIALS.get(deployment.provider.slug, {})
    return (configured.get("base_url") or deployment.provider.base_url).rstrip("/")


async def provider_key_probe(*, catalog: Catalog, provider: str, api_key: str) -> ProbeResult:
    deployment = probe_deployment(catalog, provider)
    if deployment is None:
        return ProbeResult(False, f"The catalog has no chat model on '{provider}' to test with.")
    adapter = provider_adapter(deployment.provider.kind)
    if adapter is None:
        return ProbeResult(False, f"Junction cannot call '{deployment.provider.kind}' providers.")
    request = CanonicalRequest(
        dialect=Dialect.CHAT,
        model=deployment.model.model_id,
        items=[Message(role=Role.USER, content=[TextPart("Say OK.")])],
        max_output_tokens=PROBE_MAX_OUTPUT_TOKENS,
    )
    model = deployment.model.model_id
    try:
        upstream = adapter.build_request(
            request,
            upstream_model=deployment.upstream_model,
            base_url=base_url_for(deployment),
            api_key=api_key,
        )
    except GatewayError as err:
        return ProbeResult(False, err.message, model)
    started = time.perf_counter()
    try:
        response = await upstream_post(upstream.url, body=upstream.body, headers=upstream.headers)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
    except UpstreamTimeout:
        return ProbeResult(False, f"{deployment.provider.name} did not answer in time.", model)
    except UpstreamFailure as exc:
        return ProbeResult(False, f"Could not reach {deployment.provider.name}: {exc}.", model)
    latency_ms = int((time.perf_counter() - started) * 1000)
    if response.status_code >= 400:
        refused = adapter.map_error(
            status=response.status_code, body=body, headers=dict(response.headers), provider=provider
        )
        return ProbeResult(False, refused.message, model, response.status_code, latency_ms)
    return ProbeResult(
        True, f"{deployment.provider.name} accepted the key.", model, response.status_code, latency_ms
    )
