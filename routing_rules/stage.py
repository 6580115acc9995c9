"""The route stage of the /v1 pipeline, and the helpers of its fallback loop.

``route_call`` gathers what the pure router needs (cached rules and keys,
BYOK headers, live health) and turns its decision into attempts: one per
candidate deployment and key. The dispatch loop calls ``attempt_begin`` /
``attempt_ok`` / ``attempt_failed`` around each attempt. A call's routing
state (trace, mode, attempts) is its ``RoutingCall``, a ``CallStage``: it
names the auto mode in the answer and writes the routing part of the log row.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings

from gateway.canonical import CanonicalRequest
from gateway.catalog.snapshot import Catalog, Credentials, DeploymentInfo, provider_credentials
from gateway.context import CallContext
from gateway.dialects.base import AnswerFields
from gateway.errors import GatewayError
from gateway.stage import CallStage
from routing_rules.health import health, key_scope
from routing_rules.router import ROUTE_HEADER, RouteDecision, label, route
from routing_rules.selectors import StoredKey, keys_cache, rules_cache


class KeySource(StrEnum):
    PLATFORM = "platform"
    WORKSPACE = "workspace"  # a key stored in the console
    HEADER = "header"  # X-<Provider>-Key on this request


@dataclass(frozen=True, slots=True)
class Attempt:
    deployment: DeploymentInfo
    credentials: Credentials
    key_source: KeySource
    key_hint: str = ""

    @property
    def byok(self) -> bool:
        return self.key_source is not KeySource.PLATFORM

    @property
    def health_scope(self) -> str | None:
        """Whose breaker this attempt counts in: everyone's (platform key) or its own key's."""
        return key_scope(self.credentials.api_key) if self.byok else None

    def __repr__(self) -> str:  # never print the secret
        return f"Attempt({label(self.deployment)}, {self.key_source})"


@dataclass(slots=True)
class RoutingCall(CallStage):
    """One call's routing: the decision's trace, and each attempt made."""

    rule_trace: list[dict[str, Any]] | None = None
    route: list[dict[str, Any]] | None = None
    route_header: str | None = None
    mode: str | None = None  # the auto mode that chose the deployment
    attempts: list[dict[str, Any]] | None = None  # one row per attempt, once dispatch started
    byok: bool = False  # the current attempt uses the workspace's own key

    def answer_fields(self, ctx: CallContext, fields: AnswerFields) -> None:
        if self.mode:
            fields["routing_mode"] = self.mode

    def log_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.rule_trace is not None:
            extra["rule_trace"] = self.rule_trace
        if self.route is not None:
            extra["route"] = self.route
            extra["route_header"] = self.route_header
        if self.mode:
            extra["routing_mode"] = self.mode
        if self.attempts is not None:
            extra["attempts"] = self.attempts
        if self.byok:
            extra["byok"] = True
        return extra


@dataclass(slots=True)
class Routed:
    decision: RouteDecision
    attempts: list[Attempt]


def byok_header(slug: str) -> str:
    return f"x-{slug}-key"


def byok_keys(headers: Mapping[str, str], catalog: Catalog) -> dict[str, str]:
    """Per-request provider keys from ``X-<Slug>-Key`` headers (lower-cased)."""
    found = {}
    for slug in catalog.providers:
        value = headers.get(byok_header(slug), "").strip()
        if value:
            found[slug] = value
    return found


def base_url_of(deployment: DeploymentInfo) -> str:
    configured = settings.PROVIDER_CREDENTIALS.get(deployment.provider.slug, {})
    return (configured.get("base_url") or deployment.provider.base_url).rstrip("/")


def plan_attempts(
    candidates: list[DeploymentInfo], *, byok: Mapping[str, str], stored: Mapping[str, tuple[StoredKey, ...]]
) -> list[Attempt]:
    """Header key > the workspace's stored keys (in order) > the platform's."""
    attempts: list[Attempt] = []
    for d in candidates:
        slug = d.provider.slug
        if slug in byok:
            attempts.append(Attempt(d, Credentials(byok[slug], base_url_of(d)), KeySource.HEADER))
        elif slug in stored:
            for key in stored[slug]:
                creds = Credentials(key.api_key, base_url_of(d))
                attempts.append(Attempt(d, creds, KeySource.WORKSPACE, key.hint))
        else:
            platform = provider_credentials(d.provider)
            if platform is not None:
                attempts.append(Attempt(d, platform, KeySource.PLATFORM))
    return attempts


def decide(
    request: CanonicalRequest,
    catalog: Catalog,
    *,
    rules: Any,
    stored: Mapping[str, tuple[StoredKey, ...]],
    byok: Mapping[str, str],
    api_key_prefix: str | None,
    roll: float,
    explain: bool = False,
) -> Routed:
    """The whole routing decision, shared by the pipeline and the preview."""

    def configured(d: DeploymentInfo) -> bool:
        slug = d.provider.slug
        return slug in byok or slug in stored or provider_credentials(d.provider) is not None

    decision = route(
        request,
        catalog,
        is_configured=configured,
        rules=rules,
        stats=health.stats(),
        is_open=lambda d: health.is_open(
            d.id, key_scope(byok[d.provider.slug]) if d.provider.slug in byok else None
        ),
        roll=roll,
        api_key_prefix=api_key_prefix,
        explain=explain,
    )
    return Routed(decision, plan_attempts(decision.candidates, byok=byok, stored=stored))


async def route_call(
    ctx: CallContext, routing: RoutingCall, request: CanonicalRequest, catalog: Catalog
) -> Routed:
    principal = ctx.principal
    assert principal is not None
    rules = await rules_cache.get(principal.workspace_id)
    stored = await keys_cache.get(principal.workspace_id)
    try:
        routed = decide(
            request,
            catalog,
            rules=rules,
            stored=stored,
            byok=byok_keys(ctx.headers, catalog),
            api_key_prefix=principal.key_prefix,
            roll=random.random(),
        )
    except GatewayError as err:
        routing.rule_trace = err.rule_trace or []
        raise
    decision = routed.decision
    routing.rule_trace = decision.rule_trace
    routing.route = decision.trace
    routing.route_header = decision.header
    routing.mode = decision.mode or None
    return routed


# ------------------------------------------------------------- dispatch loop


async def attempt_begin(ctx: CallContext, routing: RoutingCall, attempt: Attempt, index: int) -> float:
    """Before attempt ``index`` (0-based): back off, claim a half-open probe,
    and point the context at this deployment and key. Returns the start time."""
    if index:
        delay = min(settings.ROUTING_RETRY_BACKOFF * 2 ** (index - 1), 1.0)
        if delay > 0:
            await asyncio.sleep(delay)
    health.begin(attempt.deployment.id, attempt.health_scope)
    if routing.attempts is None:
        routing.attempts = []
    ctx.upstream_credentials = attempt.credentials
    ctx.byok = routing.byok = attempt.byok
    return time.perf_counter()


def _attempt_row(attempt: Attempt, started: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "provider": attempt.deployment.provider.slug,
        "model": attempt.deployment.model.model_id,
        "deployment_id": attempt.deployment.id,
        "key": str(attempt.key_source),
        "ms": int((time.perf_counter() - started) * 1000),
    }
    if attempt.key_source is KeySource.WORKSPACE:
        row["key_hint"] = attempt.key_hint
    return row


def attempt_ok(ctx: CallContext, routing: RoutingCall, attempt: Attempt, started: float) -> None:
    """The upstream accepted: for a stream the time to its first answer bytes
    is the TTFT sample; for a JSON answer the whole call is the latency."""
    row = _attempt_row(attempt, started)
    scope = attempt.health_scope
    if ctx.stream:
        health.record(attempt.deployment.id, ok=True, ttft_ms=row["ms"], scope=scope)
    else:
        health.record(attempt.deployment.id, ok=True, latency_ms=row["ms"], scope=scope)
    row["status"] = "ok"
    assert routing.attempts is not None
    routing.attempts.append(row)


def attempt_failed(
    ctx: CallContext, routing: RoutingCall, attempt: Attempt, started: float, err: GatewayError
) -> None:
    row = _attempt_row(attempt, started)
    row.update(status=err.status, error=str(err.type), retryable=err.retryable)
    # Only failures of the upstream itself count against its breaker, not a bad request;
    # a BYOK key's only against that key's own breaker.
    if err.retryable:
        health.record(attempt.deployment.id, ok=False, scope=attempt.health_scope)
    else:
        health.release(attempt.deployment.id, attempt.health_scope)
    if routing.route_header is not None:
        err.headers.setdefault(ROUTE_HEADER, routing.route_header)
    assert routing.attempts is not None
    routing.attempts.append(row)
