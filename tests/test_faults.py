"""Fault injection (issue 18), in the PostgreSQL + Redis pass: a server process
killed with its credit leased, a NUL character in a concurrent batch of other
tenants' log rows, bursts on the management API against a real server
process, a tenant's failing BYOK key. Each reproduces a failure of the code
before the fix; each skips cleanly without PostgreSQL (and Redis)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from billing.models import CreditLease
from routing_rules.health import health
from tests.billing.conftest import PRICES, set_balance, set_prices
from tests.conftest import make_key
from tests.helpers import wait_for_logs

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")


def _database_url(application_name: str) -> str:
    s = connection.settings_dict
    host, port = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432
    return (
        f"postgres://{s['USER']}:{s.get('PASSWORD') or ''}@{host}:{port}/{s['NAME']}"
        f"?application_name={application_name}"
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTEST_CURRENT_TEST")}
    return {**env, "DJANGO_SETTINGS_MODULE": "config.settings", **extra}


def _connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
        )
        return cursor.fetchone()[0]


# ------------------------------------------------- 1: a killed process's leases


HOLDER = """
import django, sys, time
django.setup()
from billing.book.credit_book import CreditBook
book = CreditBook(background=False)
book.hold_blocking(request_id="req_doomed", workspace_id=int(sys.argv[1]), api_key_id=None, amount=int(sys.argv[2]))
print("held", flush=True)
time.sleep(600)
"""


def test_credit_leased_by_a_killed_process_comes_back_without_beat(junction, api_key, fake_openai, settings):
    """kill -9 of a process holding most of a small balance: a running process
    hands its lease back by itself, and the workspace's calls are served (the
    code before gave 402 until a Celery beat task ran)."""
    settings.BILLING_LEASE_EXPIRY_SECONDS = 2
    set_prices("gpt-4o-mini", **PRICES)
    ws = api_key.workspace.pk
    set_balance(ws, 10_000)  # a call's worst case is ~3,600 units
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ws), "9000"],
        cwd=ROOT,
        env=_env(DATABASE_URL=_database_url("junction-fault-holder"), BILLING_LEASE_CALLS="0"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert CreditLease.objects.get().amount_units == 9_000
        time.sleep(2.5)  # its heartbeat stops; nothing else runs (no beat)
        resp = httpx.post(
            f"{junction.url}/v1/chat/completions",
            headers={"authorization": f"Bearer {api_key.secret}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
            timeout=20,
        )
        assert resp.status_code == 200, resp.text
        assert not CreditLease.objects.filter(holder__contains=f":{holder.pid}:").exists()
    finally:
        if holder.poll() is None:
            holder.kill()


# ------------------------------------------ 4: one NUL among other tenants' rows


def test_a_nul_character_costs_no_other_tenant_a_log_row(junction, api_key, other_workspace, fake_openai):
    """20 concurrent calls of one workspace and one with a NUL in ``user`` from
    another: before, PostgreSQL refused the batch and it was dropped whole."""
    other = make_key(other_workspace)
    url = f"{junction.url}/v1/chat/completions"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

    def call(i: int) -> int:
        key, extra = (
            (other.secret, {"user": "u\x00", "metadata": {"k": "v\x00"}}) if i == 0 else (api_key.secret, {})
        )
        resp = httpx.post(
            url, headers={"authorization": f"Bearer {key}"}, content=json.dumps(body | extra), timeout=20
        )
        return resp.status_code

    with ThreadPoolExecutor(6) as pool:  # under the plan's concurrency limit
        statuses = list(pool.map(call, range(21)))
    assert statuses[0] == 400 and statuses[1:] == [200] * 20
    rows = wait_for_logs(21)
    assert sorted(r.status_code for r in rows) == [200] * 20 + [400]


# ------------------------------------------- 6: management API connection bursts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_management_api_bursts_keep_postgresql_connections_bounded(admin_key):
    """Three bursts of 30 concurrent management calls against a real server
    process: the connections stay within its pool (before: 31, then 39, then
    PostgreSQL ran out and calls failed)."""
    port, name = _free_port(), "junction-fault-manage"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--no-access-log"],
        cwd=ROOT,
        env=_env(DATABASE_URL=_database_url(name), DATABASE_POOL_MAX_SIZE="8"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/manage/workspace"
    headers = {"authorization": f"Bearer {admin_key.secret}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, headers=headers, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        peak = 0
        with ThreadPoolExecutor(30) as pool:
            for _ in range(3):
                statuses = list(
                    pool.map(lambda _: httpx.get(url, headers=headers, timeout=30).status_code, range(30))
                )
                assert statuses == [200] * 30
                time.sleep(0.5)
                peak = max(peak, _connections(name))
        assert peak <= 8
    finally:
        server.terminate()
        server.wait(10)


# --------------------------------------------- 7: a tenant's failing BYOK key


@pytest.mark.redis
def test_a_failing_byok_key_opens_no_breaker_for_other_tenants(
    junction, client, other_workspace, fake_openai, settings
):
    """12 failing calls on workspace B's own OpenAI key, with the breaker state
    shared through Redis: workspace A's platform-key calls are still served
    (before: 422 no_eligible_provider for ~30 s)."""
    if not django_settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    settings.ROUTING_BREAKER_FAILURES = 3
    tenant_b = make_key(other_workspace)
    for _ in range(12):
        httpx.post(
            f"{junction.url}/v1/chat/completions",
            headers={"authorization": f"Bearer {tenant_b.secret}", "x-openai-key": "sk-b"},
            json={"model": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "[[503]]"}]},
            timeout=20,
        )
    health.sync(redis.Redis.from_url(django_settings.REDIS_URL))  # what every process reads next
    raw = client.chat.completions.with_raw_response.create(
        model="openai:gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.parse().model_extra["provider"] == "openai"
