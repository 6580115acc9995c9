"""The routing preview: a sample request routed exactly as /v1 would, without
calling any upstream, decrypting any key or charging anything. The
management API and the console's Preview drawer both call ``routing_preview``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.catalog.snapshot import load_catalog
from gateway.dialects import chat, responses
from gateway.errors import GatewayError
from routing_rules import selectors
from routing_rules.router import label, request_features
from routing_rules.router.rules import evaluate_rules
from routing_rules.stage import byok_header, byok_keys, decide

ENDPOINTS = ("chat.completions", "responses")


class PreviewInputError(ValueError):
    """The sample request is not a valid request body; the message says why."""


@dataclass(frozen=True, slots=True)
class PreviewCandidate:
    deployment_id: int
    deployment: str
    provider: str
    model: str
    upstream_model: str
    key_source: str
    score: float | None
    scores: dict[str, Any] | None


@dataclass(slots=True)
class Preview:
    outcome: str  # routed | blocked | error
    header: str = ""
    model: str | None = None
    routing_mode: str | None = None
    rule_id: int | None = None
    candidates: list[PreviewCandidate] = field(default_factory=list)
    rule_trace: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None


def routing_preview(
    *,
    workspace_id: int,
    body: dict[str, Any],
    endpoint: str = "chat.completions",
    api_key_prefix: str | None = None,
    byok_providers: list[str] | tuple[str, ...] = (),
    roll: float = 0.0,
) -> Preview:
    dialect = chat if endpoint == "chat.completions" else responses
    try:
        creq = dialect.decode(body, {})
    except GatewayError as err:
        raise PreviewInputError(err.message) from None
    catalog = load_catalog()
    rules = selectors.compiled_rules_load(workspace_id)
    byok_headers = {byok_header(slug): "preview" for slug in byok_providers}
    # Which providers have stored keys matters, not the secrets: nothing is decrypted here.
    stored = {
        row.provider: (selectors.StoredKey(row.pk, "", row.hint),)
        for row in selectors.provider_key_list(workspace_id=workspace_id).filter(enabled=True)
    }
    try:
        routed = decide(
            creq,
            catalog,
            rules=rules,
            stored=stored,
            byok=byok_keys(byok_headers, catalog),
            api_key_prefix=api_key_prefix,
            roll=roll,
            explain=True,
        )
    except GatewayError as err:
        blocked = err.code == "request_blocked"
        trace = err.rule_trace or []
        if blocked:
            # A caller sees only the blocking rule; the workspace's own preview shows every rule tried.
            features = request_features(creq, api_key_prefix=api_key_prefix)
            trace = evaluate_rules(rules, features).trace
        return Preview(
            outcome="blocked" if blocked else "error",
            header=err.headers.get("x-junction-route", ""),
            rule_trace=trace,
            error={
                "type": str(err.type),
                "message": err.message,
                "code": err.code,
                "http_status": err.status,
            },
        )
    decision = routed.decision
    scores = decision.scores
    return Preview(
        outcome="routed",
        model=decision.model.model_id if decision.model else None,
        routing_mode=decision.mode,
        rule_id=decision.rule_id,
        header=decision.header,
        rule_trace=decision.rule_trace,
        trace=decision.trace,
        candidates=[
            PreviewCandidate(
                deployment_id=a.deployment.id,
                deployment=label(a.deployment),
                provider=a.deployment.provider.slug,
                model=a.deployment.model.model_id,
                upstream_model=a.deployment.upstream_model,
                key_source=str(a.key_source),
                score=scores.get(a.deployment.id, {}).get("score"),
                scores=scores.get(a.deployment.id),
            )
            for a in routed.attempts
        ],
    )
