"""Redis is optional at runtime: with ``REDIS_URL`` at a dead port, or at a
server that accepts and never answers, /v1 keeps serving (keys from the
database, rate limits in the process), answers JSON, waits at most one short
timeout, reports the outage on /healthz, and recovers by itself."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest

from accounts.keys import hash_secret
from accounts.models import ApiKey
from accounts.services import api_key_revoke
from billing.models import KeyLimits
from gateway.redis_clients import link
from tests.fakes.tcp_gate import TcpGate, dead_port

pytestmark = pytest.mark.django_db(transaction=True)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


def call(junction, method: str, path: str, secret: str | None, **kwargs) -> tuple[httpx.Response, float]:
    headers = {"authorization": f"Bearer {secret}"} if secret else {}
    started = time.monotonic()
    resp = httpx.request(method, f"{junction.url}{path}", headers=headers, timeout=20, **kwargs)
    return resp, time.monotonic() - started


@pytest.fixture
def redis_dead(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{dead_port()}/0"
    settings.REDIS_RETRY_SECONDS = 0.2
    link.reset()
    yield
    link.reset()


@pytest.fixture
def redis_frozen(settings):
    gate = TcpGate()
    settings.REDIS_URL = gate.url
    settings.REDIS_TIMEOUT = settings.REDIS_CONNECT_TIMEOUT = 0.3
    settings.REDIS_RETRY_SECONDS = 0.2
    link.reset()
    yield gate
    gate.close()
    link.reset()


def test_v1_serves_every_endpoint_with_redis_at_a_dead_port(redis_dead, junction, api_key, fake_openai):
    resp, took = call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)
    assert resp.status_code == 200, resp.text
    bad, _ = call(junction, "POST", "/v1/chat/completions", "jk_not_a_key", json=CHAT)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    models, _ = call(junction, "GET", "/v1/models", api_key.secret)
    assert models.status_code == 200 and models.json()["object"] == "list"
    credits, _ = call(junction, "GET", "/v1/credits", api_key.secret)
    assert credits.status_code == 200 and credits.json()["object"] == "credits"
    messages, _ = call(
        junction, "POST", "/v1/messages", "jk_not_a_key", json={"model": "x", "max_tokens": 1, "messages": []}
    )
    assert messages.status_code == 401 and messages.json()["type"] == "error"
    assert took < 5
    assert link.failures and not link.up


def test_rate_limits_fall_back_to_the_process_counters(redis_dead, junction, api_key, fake_openai):
    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=2)
    if 60 - time.time() % 60 < 4:
        time.sleep(4.1)  # not across a minute window
    statuses = [
        call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)[0] for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[0].headers["x-ratelimit-remaining-requests"] == "1"
    assert statuses[2].json()["error"]["type"] == "rate_limit_error"
    assert link.fallbacks["ratelimit"] == 3
    health = httpx.get(f"{junction.url}/healthz", timeout=10).json()
    assert health["status"] == "degraded" and health["degraded"] == ["redis"]
    assert health["checks"]["redis"]["fallbacks"]["ratelimit"] == 3


def test_a_redis_that_never_answers_costs_one_short_wait(redis_frozen, junction, api_key, fake_openai):
    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=1000)
    took = []
    for _ in range(6):
        resp, seconds = call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)
        assert resp.status_code == 200, resp.text
        took.append(seconds)
    # The first call meets the silent server (one short timeout, no retries);
    # once Redis is known to be down nobody waits for it: only the background
    # probes try it again.
    assert took[0] < 3
    waited = {use: n for use, n in link.failures.items() if use not in ("probe", "routing_health")}
    assert sum(waited.values()) <= 1, link.failures
    assert not link.up and link.fallbacks["ratelimit"] == 6


def test_healthz_and_readyz(junction, settings):
    settings.REDIS_URL = ""
    ok = httpx.get(f"{junction.url}/healthz", timeout=10)
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    assert ok.json()["checks"]["redis"]["status"] == "not_configured"
    settings.REDIS_URL = f"redis://127.0.0.1:{dead_port()}/0"
    link.reset()
    health = httpx.get(f"{junction.url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["checks"]["redis"]["status"] == "down"
    assert health.json()["checks"]["database"]["status"] == "ok"
    ready = httpx.get(f"{junction.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["degraded"] == ["redis"]


def test_readyz_is_503_without_the_database(junction, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(self, sql, params=None):
        raise OperationalError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    ready = httpx.get(f"{junction.url}/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["degraded"] == ["database"]


def test_a_key_revoked_while_redis_is_down_is_refused(redis_dead, junction, api_key, fake_openai, settings):
    assert call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)[0].status_code == 200
    api_key_revoke(key=ApiKey.objects.get(pk=api_key.pk))
    assert link.pending_writes == 1  # the shared entry's delete waits for Redis
    time.sleep(settings.API_KEY_LOCAL_TTL + 0.1)
    resp, _ = call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]


@pytest.mark.redis
def test_recovers_by_itself_when_redis_answers_again(junction, api_key, fake_openai, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    real = urlsplit(settings.REDIS_URL)
    gate = TcpGate(upstream=(real.hostname or "127.0.0.1", real.port or 6379))
    settings.REDIS_URL = gate.url.removesuffix("/0") + (real.path or "/0")  # the real db, whichever
    settings.REDIS_TIMEOUT = settings.REDIS_CONNECT_TIMEOUT = 0.3
    settings.REDIS_RETRY_SECONDS = 0.2
    link.reset()
    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=1000)
    try:
        gate.mode = "forward"
        assert call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)[0].status_code == 200
        assert link.up and not link.fallbacks
        gate.silence()  # Redis freezes
        for _ in range(3):
            resp, took = call(junction, "POST", "/v1/chat/completions", api_key.secret, json=CHAT)
            assert resp.status_code == 200 and took < 2
        assert not link.up and link.fallbacks["ratelimit"] >= 1
        api_key_revoke(key=ApiKey.objects.get(pk=api_key.pk))
        assert link.pending_writes == 1
        gate.mode = "forward"  # Redis is back
        deadline = time.monotonic() + 5
        while (not link.up or link.pending_writes) and time.monotonic() < deadline:
            call(junction, "GET", "/v1/models", "jk_probe")  # traffic lets the process notice
            time.sleep(0.1)
        assert link.up and link.pending_writes == 0
        shared = link.sync_client().get(f"{settings.CACHE_KEY_PREFIX}:apikey:{hash_secret(api_key.secret)}")
        assert shared is None  # the revocation's delete landed
    finally:
        gate.close()
        link.reset()
