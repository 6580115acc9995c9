"""Auto modes: rank deployments on live statistics, price and quality (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median

from gateway.catalog.snapshot import DeploymentInfo

# What an unmeasured deployment is assumed to do until it has samples.
DEFAULT_TTFT_MS = 800.0
DEFAULT_LATENCY_MS = 4_000.0


@dataclass(frozen=True, slots=True)
class DeploymentStats:
    """Moving averages for one deployment (see ``routing_rules.health``)."""

    ttft_ms: float | None = None
    latency_ms: float | None = None
    error_rate: float = 0.0
    samples: int = 0


# Weights per mode: (speed, price, quality); speed is 70% TTFT and 30% latency.
# The weighted sum is then multiplied by reliability (1 - error rate), so a
# failing deployment sinks in every mode.
MODE_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "latency": (0.85, 0.10, 0.05),
    "cost": (0.10, 0.80, 0.10),
    "quality": (0.10, 0.10, 0.80),
    "balance": (0.35, 0.35, 0.30),
}


def estimated_cost(d: DeploymentInfo, *, input_tokens: int, output_tokens: int) -> float:
    """USD for this request at catalog prices (an estimate: ranking only)."""
    p = d.model.prices
    return (float(p.input) * input_tokens + float(p.output) * output_tokens) / 1_000_000


def _lower_is_better(values: Sequence[float]) -> list[float]:
    """Relative to the best: the best scores 1, twice as slow/expensive 0.5."""
    best = min(values)
    if best <= 0:
        best = min((v for v in values if v > 0), default=1.0)
        return [1.0 if v <= 0 else best / v for v in values]
    return [best / v for v in values]


def score_deployments(
    deployments: Sequence[DeploymentInfo],
    *,
    mode: str,
    stats: Mapping[int, DeploymentStats],
    input_tokens: int,
    output_tokens: int,
    explain: bool = False,
) -> list[tuple[DeploymentInfo, float, dict[str, float]]]:
    """Every deployment with its score (0..1, higher is better), best first,
    and with ``explain`` the parts that made it. Ties keep the given
    (priority) order."""
    if not deployments:
        return []
    rows = [stats.get(d.id, DeploymentStats()) for d in deployments]
    known_ttft = [s.ttft_ms for s in rows if s.ttft_ms is not None]
    known_latency = [s.latency_ms for s in rows if s.latency_ms is not None]
    ttft_prior = median(known_ttft) if known_ttft else DEFAULT_TTFT_MS
    latency_prior = median(known_latency) if known_latency else DEFAULT_LATENCY_MS
    ttft = [s.ttft_ms if s.ttft_ms is not None else ttft_prior for s in rows]
    latency = [s.latency_ms if s.latency_ms is not None else latency_prior for s in rows]
    cost = [estimated_cost(d, input_tokens=input_tokens, output_tokens=output_tokens) for d in deployments]
    speed = [
        0.7 * a + 0.3 * b for a, b in zip(_lower_is_better(ttft), _lower_is_better(latency), strict=True)
    ]
    price = _lower_is_better(cost)
    quality = [(d.model.quality_tier - 1) / 4 for d in deployments]
    reliability = [max(0.0, 1.0 - s.error_rate) for s in rows]
    w_speed, w_price, w_quality = MODE_WEIGHTS[mode]
    scored: list[tuple[DeploymentInfo, float, dict[str, float]]] = []
    totals = []
    for i, d in enumerate(deployments):
        total = (w_speed * speed[i] + w_price * price[i] + w_quality * quality[i]) * reliability[i]
        totals.append(total)
        if not explain:
            scored.append((d, total, {}))
            continue
        parts = {
            "speed": round(speed[i], 4),
            "price": round(price[i], 4),
            "quality": round(quality[i], 4),
            "reliability": round(reliability[i], 4),
            "ttft_ms": round(ttft[i], 1),
            "latency_ms": round(latency[i], 1),
            "error_rate": round(rows[i].error_rate, 4),
            "est_cost_usd": round(cost[i], 8),
            "samples": rows[i].samples,
        }
        scored.append((d, round(total, 6), parts))
    # Ordered on the exact totals, so the preview (rounded parts) and /v1 agree.
    order = sorted(range(len(scored)), key=lambda i: -totals[i])
    return [scored[i] for i in order]
