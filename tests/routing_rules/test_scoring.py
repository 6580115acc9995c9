"""Each auto mode's choice on given statistics."""

from __future__ import annotations

from routing_rules.router import DeploymentStats, route
from tests.routing_rules.helpers import chat_request, deployment, shipped_catalog

CAT = shipped_catalog()
MINI_OPENAI = deployment("gpt-4o-mini", "openai")
MINI_ROUTER = deployment("gpt-4o-mini", "openrouter")


def real_upstreams(d) -> bool:
    # The free demo upstream is enabled only when no real provider is configured,
    # so it never competes with them.
    return d.provider.slug != "demo"


def first(model, stats=None, **body):
    decision = route(
        chat_request(model, **body), CAT, is_configured=real_upstreams, stats=stats or {}, explain=True
    )
    return decision.candidates[0], decision


def test_cost_picks_the_cheapest_deployment():
    best, decision = first("auto:cost")
    costs = {d.id: decision.scores[d.id]["est_cost_usd"] for d in decision.candidates}
    assert costs[best.id] == min(costs.values())
    assert best.model.model_id == "mistral-small-latest"  # $0.10 in / $0.30 out


def test_quality_picks_a_top_tier_model():
    best, _ = first("auto:quality")
    assert best.model.quality_tier == 5


def test_fast_follows_measured_time_to_first_token():
    slow = DeploymentStats(ttft_ms=2_000, latency_ms=5_000, samples=50)
    quick = DeploymentStats(ttft_ms=150, latency_ms=900, samples=50)
    best, _ = first("gpt-4o-mini", {MINI_OPENAI.id: slow, MINI_ROUTER.id: quick}, router_mode="fast")
    assert best.id == MINI_ROUTER.id
    best, _ = first("gpt-4o-mini", {MINI_OPENAI.id: quick, MINI_ROUTER.id: slow}, router_mode="fast")
    assert best.id == MINI_OPENAI.id


def test_error_rate_demotes_a_deployment():
    flaky = DeploymentStats(ttft_ms=200, latency_ms=1_000, error_rate=0.9, samples=50)
    steady = DeploymentStats(ttft_ms=250, latency_ms=1_100, error_rate=0.0, samples=50)
    best, decision = first(
        "gpt-4o-mini", {MINI_OPENAI.id: flaky, MINI_ROUTER.id: steady}, router_mode="balance"
    )
    assert best.id == MINI_ROUTER.id
    assert decision.scores[MINI_OPENAI.id]["reliability"] < 0.2


def test_balance_trades_price_against_quality():
    best, decision = first("auto:balance")
    cheapest, _ = first("auto:cost")
    finest, _ = first("auto:quality")
    assert best.model.quality_tier > cheapest.model.quality_tier
    assert decision.scores[best.id]["est_cost_usd"] < decision.scores[finest.id]["est_cost_usd"] / 5


def test_unmeasured_deployments_get_the_median_of_the_measured():
    known = DeploymentStats(ttft_ms=300, latency_ms=1_000, samples=10)
    _, decision = first("gpt-4o-mini", {MINI_OPENAI.id: known}, router_mode="fast")
    assert decision.scores[MINI_ROUTER.id]["ttft_ms"] == 300
    assert decision.scores[MINI_ROUTER.id]["samples"] == 0
