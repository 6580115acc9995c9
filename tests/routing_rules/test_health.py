"""Circuit breakers (open, half-open, close), moving averages, sharing via Redis."""

from __future__ import annotations

import uuid

import pytest

from routing_rules.health import BreakerState, HealthRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(clock, settings) -> HealthRegistry:
    settings.ROUTING_BREAKER_FAILURES = 3
    settings.ROUTING_BREAKER_WINDOW = 5
    settings.ROUTING_BREAKER_COOLDOWN = 30
    settings.REDIS_URL = ""  # no background sync for the unit tests
    return HealthRegistry(clock=clock)


def test_opens_after_n_failures_in_the_last_m_calls(registry):
    for ok in (False, True, False, True):
        registry.record(1, ok=ok)
    assert registry.state(1) is BreakerState.CLOSED and not registry.is_open(1)
    registry.record(1, ok=False)
    assert registry.state(1) is BreakerState.OPEN and registry.is_open(1)


def test_scattered_failures_of_a_busy_deployment_open_no_breaker(registry, settings):
    """The soak (bench/soak.py): an upstream failing 2-3 % of a busy
    deployment's calls had 5 failures among some 20 consecutive calls about
    once a minute, and every tenant got 422 no_eligible_provider for the 30 s
    cooldown. 5 of 20 is a quarter of the calls, not a dead upstream."""
    settings.ROUTING_BREAKER_FAILURES, settings.ROUTING_BREAKER_WINDOW = 5, 20
    for i in range(40):
        registry.record(7, ok=i % 4 != 0)  # 1 in 4 fails: 5 of every 20
        assert registry.state(7) is BreakerState.CLOSED, i
    for _ in range(10):
        registry.record(7, ok=False)  # now 12 of the last 20
    assert registry.state(7) is BreakerState.OPEN


def test_a_dead_deployment_opens_at_its_first_failures(registry, settings):
    settings.ROUTING_BREAKER_FAILURES, settings.ROUTING_BREAKER_WINDOW = 5, 20
    for _ in range(4):
        registry.record(8, ok=False)
    assert registry.state(8) is BreakerState.CLOSED
    registry.record(8, ok=False)
    assert registry.state(8) is BreakerState.OPEN


def test_old_failures_slide_out_of_the_window(registry):
    registry.record(1, ok=False)
    registry.record(1, ok=False)
    for _ in range(5):
        registry.record(1, ok=True)
    registry.record(1, ok=False)
    assert registry.state(1) is BreakerState.CLOSED


def test_half_open_lets_one_probe_through_and_closes_on_success(registry, clock):
    for _ in range(3):
        registry.record(1, ok=False)
    clock.now += 29
    assert registry.is_open(1)
    clock.now += 2
    assert registry.state(1) is BreakerState.HALF_OPEN and not registry.is_open(1)
    registry.begin(1)  # the probe
    assert registry.is_open(1)  # nobody else while it runs
    registry.record(1, ok=True)
    assert registry.state(1) is BreakerState.CLOSED and not registry.is_open(1)


def test_failed_probe_reopens_for_another_cooldown(registry, clock):
    for _ in range(3):
        registry.record(1, ok=False)
    clock.now += 31
    registry.begin(1)
    registry.record(1, ok=False)
    assert registry.state(1) is BreakerState.OPEN
    clock.now += 29
    assert registry.is_open(1)
    clock.now += 2
    assert not registry.is_open(1)


def test_a_probe_that_never_reports_stops_blocking(registry, clock):
    for _ in range(3):
        registry.record(1, ok=False)
    clock.now += 31
    registry.begin(1)
    assert registry.is_open(1)
    registry.release(1)  # e.g. the probe was refused as a bad request
    assert not registry.is_open(1)
    registry.begin(1)
    clock.now += 31  # or the client went away and it never reported
    assert not registry.is_open(1)


def test_breakers_are_per_deployment(registry):
    for _ in range(3):
        registry.record(1, ok=False)
    assert registry.is_open(1) and not registry.is_open(2)


def test_moving_averages_feed_the_router(registry, settings):
    settings.ROUTING_HEALTH_ALPHA = 0.5
    registry.record(7, ok=True, ttft_ms=100)
    registry.record(7, ok=True, ttft_ms=300, latency_ms=1000)
    registry.record(7, ok=False)
    stats = registry.stats()[7]
    assert stats.ttft_ms == 200 and stats.latency_ms == 1000
    assert stats.error_rate == 0.5 and stats.samples == 3


@pytest.mark.redis
def test_state_is_shared_between_processes_through_redis(clock, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    import redis

    settings.ROUTING_BREAKER_FAILURES = 2
    settings.ROUTING_BREAKER_COOLDOWN = 30
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"test-health-{uuid.uuid4().hex}"
    redis_url, settings.REDIS_URL = settings.REDIS_URL, ""  # sync by hand, no thread
    try:
        a = HealthRegistry(clock=clock, process_id="a")
        b = HealthRegistry(clock=clock, process_id="b")
        a.record(5, ok=True, ttft_ms=100)
        b.record(5, ok=True, ttft_ms=300)
        b.record(5, ok=True, ttft_ms=300)
        a.record(9, ok=False)
        a.record(9, ok=False)
        assert a.is_open(9) and not b.is_open(9)
        a.sync(client, prefix=prefix)
        b.sync(client, prefix=prefix)
        assert b.is_open(9)  # b skips what a found dead
        merged = b.stats()[5]
        assert merged.samples == 3 and merged.ttft_ms == pytest.approx((100 + 2 * 300) / 3)
        clock.now += 31
        assert not b.is_open(9)
    finally:
        settings.REDIS_URL = redis_url
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_a_byok_key_opens_only_its_own_breaker(registry):
    for _ in range(3):
        registry.record(1, ok=False, scope="key-a")
    assert registry.is_open(1, "key-a")
    assert not registry.is_open(1) and not registry.is_open(1, "key-b")
    assert registry.stats() == {}  # nothing counted in the shared averages


def test_the_shared_breaker_applies_to_byok_calls_too(registry):
    for _ in range(3):
        registry.record(1, ok=False)
    assert registry.is_open(1) and registry.is_open(1, "key-a")


def test_a_byok_breaker_half_opens_and_closes_on_its_own_probe(registry, clock):
    for _ in range(3):
        registry.record(1, ok=False, scope="key-a")
    clock.now += 31
    assert registry.state(1, "key-a") is BreakerState.HALF_OPEN
    registry.begin(1, "key-a")
    assert registry.is_open(1, "key-a")  # its probe is under way
    registry.record(1, ok=True, scope="key-a")
    assert registry.state(1, "key-a") is BreakerState.CLOSED
