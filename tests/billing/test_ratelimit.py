"""Rate limits: 429 with Retry-After and OpenAI's x-ratelimit-* headers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from billing.models import CreditAccount, KeyLimits, Plan
from tests.billing.conftest import wait_settled

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}


def post(url: str, secret: str, body=BODY) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/chat/completions", headers={"authorization": f"Bearer {secret}"}, json=body, timeout=20
    )


def wait_for_fresh_window(margin: float = 4.0) -> None:
    """Limits use fixed minute windows; don't start a test right before one ends."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.1)


def test_requests_per_minute(junction, api_key, fake_openai, priced):
    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=2)
    wait_for_fresh_window()
    first = post(junction.url, api_key.secret)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert post(junction.url, api_key.secret).headers["x-ratelimit-remaining-requests"] == "0"
    third = post(junction.url, api_key.secret)
    assert third.status_code == 429
    error = third.json()["error"]
    assert error["type"] == "rate_limit_error" and "2 requests per minute" in error["message"]
    assert 1 <= int(third.headers["retry-after"]) <= 60
    assert third.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(fake_openai.requests) == 2


def test_tokens_per_minute(junction, api_key, fake_openai, priced):
    KeyLimits.objects.create(api_key_id=api_key.pk, tpm_limit=1_000)
    wait_for_fresh_window()
    ok = post(junction.url, api_key.secret, {**BODY, "max_tokens": 500})
    assert ok.status_code == 200 and ok.headers["x-ratelimit-limit-tokens"] == "1000"
    remaining = int(ok.headers["x-ratelimit-remaining-tokens"])
    assert 0 < remaining < 500
    refused = post(junction.url, api_key.secret, {**BODY, "max_tokens": 500})
    assert refused.status_code == 429 and "tokens per minute" in refused.json()["error"]["message"]
    assert "retry-after" in refused.headers and refused.headers["x-ratelimit-limit-tokens"] == "1000"


def test_concurrent_requests_per_workspace(junction, api_key, fake_openai, priced):
    plan = Plan.objects.create(slug="one-at-a-time", name="One", max_concurrency=1)
    CreditAccount.objects.filter(workspace=api_key.workspace).update(plan=plan)
    body = {**BODY, "stream": True, "messages": [{"role": "user", "content": "[[hold]] hi"}]}
    headers = {"authorization": f"Bearer {api_key.secret}"}
    with httpx.Client(timeout=20) as http:
        with http.stream("POST", f"{junction.url}/v1/chat/completions", headers=headers, json=body) as held:
            chunks = held.iter_raw()
            next(chunks)
            busy = post(junction.url, api_key.secret)
            assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
            assert busy.json()["error"]["code"] == "concurrency_limit_exceeded"
            fake_openai.release.set()
            for _ in chunks:
                pass
        wait_settled()
        deadline = time.monotonic() + 5
        while post(junction.url, api_key.secret).status_code == 429:  # the slot is released after finish
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_limits_come_from_the_cached_principal(api_key, django_assert_num_queries):
    from asgiref.sync import async_to_sync

    from gateway.auth import authenticate

    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=7, spend_limit_units=500, spend_period="day")
    with django_assert_num_queries(1):
        principal = async_to_sync(authenticate)(api_key.secret)
    assert (principal.rpm_limit, principal.spend_limit_units, principal.spend_period) == (7, 500, "day")
    assert principal.tpm_limit == 100_000 and principal.max_concurrency == 10  # the Free plan's defaults
    with django_assert_num_queries(0):
        async_to_sync(authenticate)(api_key.secret)


def test_key_spend_cap_refuses_with_a_clear_message(junction, api_key, fake_openai, priced):
    KeyLimits.objects.create(api_key_id=api_key.pk, spend_limit_units=100, spend_period="day")
    refused = post(junction.url, api_key.secret)
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "spend_limit_reached" and "day spend limit of $0.01" in error["message"]
    assert fake_openai.requests == []


# ------------------------------------------------------- across processes


@pytest.mark.redis
def test_limit_holds_across_two_server_processes(api_key, catalog):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    import redis

    KeyLimits.objects.create(api_key_id=api_key.pk, rpm_limit=5)
    prefix = f"test-rl-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "CACHE_KEY_PREFIX": prefix,
        "CELERY_BROKER_URL": "memory://",
    }
    root = Path(__file__).resolve().parents[2]
    procs, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "config.asgi:application",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--lifespan",
                        "off",
                    ],
                    cwd=root,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            _wait_up(url)
        wait_for_fresh_window(margin=10)
        statuses = [post(urls[i % 2], api_key.secret).status_code for i in range(10)]
        # Upstream isn't configured in these processes: admitted calls fail routing, refused ones are 429.
        assert statuses.count(429) == 5, statuses
        assert all(s == 429 for s in statuses[5:])
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        for key in client.scan_iter(match=f":*:{prefix}*"):
            client.delete(key)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/v1/models", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.redis
async def test_a_released_slot_rides_along_with_the_next_admission(settings):
    """Under load a release costs no round trip: the next admission's script
    gives the queued slot back before it counts."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    from billing import ratelimit

    settings.RATELIMIT_KEY_PREFIX = f"test-rl-{uuid.uuid4().hex}"
    admit = dict(key_id=1, workspace_id=1, rpm=0, tpm=0, concurrency=1, tokens=1)
    first = await ratelimit.acquire(**admit)
    assert first.lease is not None
    assert (await ratelimit.acquire(**admit)).refused == "concurrency_limit_exceeded"
    ratelimit.release_soon(first.lease)  # queued, not sent
    second = await ratelimit.acquire(**admit)  # the queued release goes first, in the same call
    assert second.refused is None and second.lease is not None
    ratelimit.release_soon(second.lease)
    await ratelimit.drain()  # nothing comes after: sent on its own
    assert (await ratelimit.acquire(**admit)).refused is None
