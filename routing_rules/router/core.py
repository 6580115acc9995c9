"""The router: a request -> ordered candidate deployments and a trace of why.

Pure: it takes the catalog snapshot, the workspace's compiled rules, live
statistics and predicates; it does no I/O, so the pipeline and the preview
endpoint run exactly the same decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.canonical import CanonicalRequest
from gateway.catalog.snapshot import Catalog, DeploymentInfo, ModelInfo
from gateway.errors import ErrorType, GatewayError
from routing_rules.router.features import RequestFeatures, request_features
from routing_rules.router.rules import ActionType, CompiledRule, evaluate_rules, normalize_mode, pick_split
from routing_rules.router.scoring import DeploymentStats, score_deployments

NO_ELIGIBLE = "No eligible providers available for this request."
UPSTREAMS_FAILING = "Every provider that serves this model is failing right now; retry shortly."
CIRCUIT_OPEN = "circuit open"
ROUTE_HEADER = "x-junction-route"
# Excluded deployments listed one by one in the trace (auto pools can be large).
TRACE_EXCLUDED_LIMIT = 12
NON_CHAT_CAPABILITIES = frozenset({"embeddings", "image_generation"})
# What each kind of model is for, as a client would read it in an error.
MODEL_KINDS = {"embeddings": "an embedding model", "image_generation": "an image model"}


@dataclass(slots=True)
class RouteDecision:
    model: ModelInfo | None
    candidates: list[DeploymentInfo]
    mode: str | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)
    rule_trace: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[int, dict[str, Any]] = field(default_factory=dict)
    rule_id: int | None = None
    header: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """One entry of the chain to try: a model string and where it came from."""

    name: str
    source: str  # "request", "rule:<id>", "fallback:rule:<id>"


def label(d: DeploymentInfo) -> str:
    return f"{d.provider.slug}/{d.model.model_id}"


def split_provider_prefix(name: str, catalog: Catalog) -> tuple[str | None, str]:
    """``anthropic:claude-sonnet-4-5`` or ``anthropic/claude-sonnet-4-5`` (the
    form other gateways write) -> ("anthropic", "claude-sonnet-4-5"). A catalog
    id or alias that itself contains ``/`` keeps its meaning."""
    head, sep, tail = name.partition(":")
    if sep and head in catalog.providers:
        return head, tail
    head, sep, tail = name.partition("/")
    if sep and head in catalog.providers and catalog.lookup(name) is None:
        return head, tail
    return None, name


@dataclass(frozen=True, slots=True)
class Resolved:
    models: tuple[ModelInfo, ...]  # one model, or the auto pool
    provider: str | None
    mode: str | None
    auto: bool


def resolve(name: str, catalog: Catalog, *, needs: frozenset[str]) -> Resolved | None:
    """A model string -> the model(s) it names. None when it names nothing."""
    provider, rest = split_provider_prefix(name, catalog)
    if rest == "auto":
        return Resolved(auto_pool(catalog, needs=needs), provider, None, auto=True)
    if rest.startswith("auto:"):
        mode = normalize_mode(rest)
        if mode is None:
            raise GatewayError(
                ErrorType.INVALID_REQUEST,
                f"Unknown routing mode in '{name}': use auto:latency, auto:balance, auto:cost or auto:quality.",
                param="model",
                code="invalid_routing_mode",
            )
        return Resolved(auto_pool(catalog, needs=needs), provider, mode, auto=True)
    model = catalog.lookup(rest)
    if model is None:
        return None
    return Resolved((model,), provider, None, auto=False)


def model_kind(model: ModelInfo) -> str:
    """``embeddings``, ``image_generation`` or ``chat``: which endpoint the model answers."""
    for kind in MODEL_KINDS:
        if kind in model.capabilities:
            return kind
    return "chat"


def wrong_endpoint(model: ModelInfo, needs: frozenset[str]) -> GatewayError | None:
    """A 400 naming ``model`` when the model answers another endpoint than the
    request's (an embedding model on chat completions, a chat model on embeddings)."""
    wanted = next((kind for kind in MODEL_KINDS if kind in needs), "chat")
    kind = model_kind(model)
    if kind == wanted:
        return None
    if "image_generation_tool" in needs and "image_generation_tool" in model.capabilities:
        return None  # an image model that also serves the Responses image tool (gateway.hosted_tools)
    what = MODEL_KINDS.get(kind, "a chat model")
    where = {"embeddings": "/v1/embeddings", "image_generation": "the images API"}.get(
        wanted, "a chat endpoint"
    )
    return GatewayError(
        ErrorType.INVALID_REQUEST,
        f"The model '{model.model_id}' is {what} and cannot be used on {where}.",
        param="model",
        code="model_not_supported",
    )


def auto_pool(catalog: Catalog, *, needs: frozenset[str]) -> tuple[ModelInfo, ...]:
    for kind in MODEL_KINDS:
        if kind in needs:
            return tuple(m for m in catalog.models.values() if kind in m.capabilities)
    return tuple(m for m in catalog.models.values() if not (m.capabilities & NON_CHAT_CAPABILITIES))


def exclusion_reason(
    d: DeploymentInfo,
    features: RequestFeatures,
    *,
    is_configured: Callable[[DeploymentInfo], bool],
    is_open: Callable[[DeploymentInfo], bool],
) -> str | None:
    missing = features.needs - d.model.capabilities
    if missing:
        return "model lacks " + ", ".join(sorted(missing))
    needed = features.input_tokens + (features.max_output_tokens or 0)
    if needed > d.model.context_window:
        return f"~{needed} tokens exceed the context window of {d.model.context_window}"
    if not is_configured(d):
        return "provider not configured"
    if is_open(d):
        return CIRCUIT_OPEN
    return None


def _never(_: DeploymentInfo) -> bool:
    return False


def route(
    request: CanonicalRequest,
    catalog: Catalog,
    *,
    is_configured: Callable[[DeploymentInfo], bool],
    rules: Sequence[CompiledRule] = (),
    stats: Mapping[int, DeploymentStats] | None = None,
    is_open: Callable[[DeploymentInfo], bool] = _never,
    roll: float = 0.0,
    api_key_prefix: str | None = None,
    explain: bool = False,
) -> RouteDecision:
    """``explain`` (the preview) also fills ``decision.scores`` with every
    candidate's score parts; the hot path skips building them."""
    features = request_features(request, api_key_prefix=api_key_prefix)
    stats = stats or {}
    decision = RouteDecision(model=None, candidates=[])
    request_mode = None
    if request.router_mode:
        request_mode = normalize_mode(request.router_mode)
        if request_mode is None:
            raise GatewayError(
                ErrorType.INVALID_REQUEST,
                f"Unknown router_mode '{request.router_mode}': use latency, balance, cost or quality.",
                param="router_mode",
                code="invalid_routing_mode",
            )

    outcome = evaluate_rules(rules, features)
    decision.rule_trace = outcome.trace
    terminal = outcome.terminal
    rule_summary = f"rule={terminal.id}:{terminal.action.type}" if terminal else "rule=none"
    if terminal is not None:
        decision.rule_id = terminal.id
    if terminal is not None and terminal.action.type is ActionType.BLOCK:
        blocked = _error(
            decision,
            GatewayError(
                ErrorType.ROUTING,
                terminal.action.message or "Blocked by a routing rule.",
                code="request_blocked",
            ),
            f"{rule_summary}; candidates=none",
        )
        # The caller learns which rule refused it, never the workspace's other rules.
        blocked.rule_trace = [e for e in blocked.rule_trace or () if e.get("rule_id") == terminal.id]
        raise blocked

    targets = _targets(request.model, terminal, outcome.fallbacks_rule, outcome.fallbacks, roll)
    seen: set[int] = set()
    reasons: set[str] = set()  # why deployments were left out, over every step
    for target in targets:
        resolved = resolve(target.name, catalog, needs=features.needs)
        step: dict[str, Any] = {"step": "target", "target": target.name, "source": target.source}
        decision.trace.append(step)
        if resolved is None:
            if target.source == "request":
                raise _error(
                    decision,
                    GatewayError(
                        ErrorType.MODEL_NOT_FOUND,
                        f"The model '{request.model}' does not exist or you do not have access to it.",
                        param="model",
                        code="model_not_found",
                    ),
                    f"{rule_summary}; candidates=none",
                )
            step["skipped"] = "unknown model"
            continue
        if not resolved.auto:
            mismatch = wrong_endpoint(resolved.models[0], features.needs)
            if mismatch is not None:
                if target.source == "request":
                    raise _error(decision, mismatch, f"{rule_summary}; candidates=none")
                step["skipped"] = f"{model_kind(resolved.models[0])} model, not for this endpoint"
                continue
        # ``auto:<mode>`` in the model string wins; then ``router_mode``; bare ``auto`` balances.
        mode = resolved.mode or request_mode or ("balance" if resolved.auto else None)
        if not resolved.auto:
            step["model"] = resolved.models[0].model_id
        if resolved.provider:
            step["provider"] = resolved.provider
        if mode:
            step["mode"] = mode
        if decision.model is None and not resolved.auto:
            decision.model = resolved.models[0]
        if decision.mode is None and mode:
            decision.mode = mode
        pool = [
            d
            for m in resolved.models
            for d in catalog.deployments.get(m.model_id, ())
            if resolved.provider is None or d.provider.slug == resolved.provider
        ]
        eligible: list[DeploymentInfo] = []
        excluded: list[dict[str, str]] = []
        for d in pool:
            reason = exclusion_reason(d, features, is_configured=is_configured, is_open=is_open)
            if reason is None:
                eligible.append(d)
            else:
                excluded.append({"deployment": label(d), "reason": reason})
                reasons.add(reason)
        step["eligible"] = len(eligible)
        if excluded:
            step["excluded"] = excluded[:TRACE_EXCLUDED_LIMIT]
            if len(excluded) > TRACE_EXCLUDED_LIMIT:
                step["excluded_more"] = len(excluded) - TRACE_EXCLUDED_LIMIT
        if mode and eligible:
            ranked = score_deployments(
                eligible,
                mode=mode,
                stats=stats,
                input_tokens=features.input_tokens,
                output_tokens=features.output_tokens,
                explain=explain,
            )
            eligible = [d for d, _, _ in ranked]
            for d, score, parts in ranked:
                decision.scores.setdefault(d.id, {"score": score, **parts})
            step["ranking"] = [
                {"deployment": label(d), "score": s} for d, s, _ in ranked[:TRACE_EXCLUDED_LIMIT]
            ]
        for d in eligible:
            if d.id not in seen:
                seen.add(d.id)
                decision.candidates.append(d)

    if decision.model is None and decision.candidates:
        decision.model = decision.candidates[0].model
    shown = ",".join(label(d) for d in decision.candidates[:3]) or "none"
    mode_part = f"; mode={decision.mode}" if decision.mode else ""
    decision.header = f"{rule_summary}{mode_part}; candidates={shown}"
    decision.trace.append({"step": "candidates", "candidates": [label(d) for d in decision.candidates]})
    if not decision.candidates:
        raise _error(decision, _nothing_eligible(reasons), decision.header)
    return decision


def _nothing_eligible(reasons: set[str]) -> GatewayError:
    """422 when the request can't be served as asked; 503 (which the SDKs
    retry) when every deployment that could serve it is only held back by an
    open circuit: the upstreams are failing, not the request."""
    if reasons == {CIRCUIT_OPEN}:
        return GatewayError(
            ErrorType.UPSTREAM, UPSTREAMS_FAILING, status=503, param="model", code="upstreams_unavailable"
        )
    return GatewayError(ErrorType.ROUTING, NO_ELIGIBLE, param="model", code="no_eligible_provider")


def _targets(
    requested: str,
    terminal: CompiledRule | None,
    chain_rule: CompiledRule | None,
    chain: tuple[str, ...],
    roll: float,
) -> list[Target]:
    targets: list[Target] = []
    if terminal is None:
        targets.append(Target(requested, "request"))
    elif terminal.action.type is ActionType.ROUTE:
        assert terminal.action.model is not None
        targets.append(Target(terminal.action.model, f"rule:{terminal.id}"))
        targets.extend(Target(m, f"fallback:rule:{terminal.id}") for m in terminal.action.fallbacks)
    else:  # split
        picked = pick_split(terminal.action.targets, roll)
        targets.append(Target(picked[0], f"rule:{terminal.id}"))
        targets.extend(Target(m, f"fallback:rule:{terminal.id}") for m in picked[1:])
    if chain_rule is not None:
        targets.extend(Target(m, f"fallback:rule:{chain_rule.id}") for m in chain)
    unique: list[Target] = []
    names: set[str] = set()
    for t in targets:
        if t.name not in names:
            names.add(t.name)
            unique.append(t)
    return unique


def _error(decision: RouteDecision, err: GatewayError, header: str) -> GatewayError:
    decision.header = header
    # The rules' entries, then the routing steps (each with a "step" key) that
    # say why nothing was eligible.
    err.rule_trace = [*decision.rule_trace, *decision.trace]
    err.raw = None
    err.headers[ROUTE_HEADER] = header
    return err
