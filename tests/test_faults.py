"""Fault injection (issue 18), in the PostgreSQL + Redis pass: a server process
killed with its credit leased, a NUL character in a concurrent batch of other
tenants' log rows, a server process whose Redis is down, bursts on the
management API against a real server process, a tenant's failing BYOK key.
Each reproduces a failure of the code before the fix (bench/README.md,
"Session 6: soak", has what each gave there); each skips cleanly without
PostgreSQL (and Redis)."""

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

    set_balance(other_workspace.pk, 1_000_000)  # before, the NUL call was answered and charged
    with ThreadPoolExecutor(6) as pool:  # under the plan's concurrency limit
        statuses = list(pool.map(call, range(21)))
    assert statuses[1:] == [200] * 20
    rows = wait_for_logs(21)
    ours = [r.status_code for r in rows if r.workspace_id == api_key.workspace.pk]
    assert ours == [200] * 20, f"{20 - len(ours)} of the other tenant's 20 log rows lost"
    assert statuses[0] == 400  # now refused at decode, naming the field
    assert [r.status_code for r in rows if r.workspace_id == other_workspace.pk] == [400]


# ------------------------------------------- 6: management API connection bursts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """``uvicorn config.asgi:application`` in its own process on the test
    database, with ``env`` on top of this process's environment."""

    def __init__(self, **env: str) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", self.url.rsplit(":", 1)[1],
             "--no-access-log"],
            cwd=ROOT,
            env=_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/healthz", timeout=5)
                return
            except httpx.TransportError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_management_api_bursts_keep_postgresql_connections_bounded(admin_key):
    """Three bursts of 30 concurrent management calls against a real server
    process: the connections stay within its pool (before: 31, then 39, then
    PostgreSQL ran out and calls failed)."""
    name = "junction-fault-manage"
    server = _Server(DATABASE_URL=_database_url(name), DATABASE_POOL_MAX_SIZE="8")
    url = f"{server.url}/api/manage/workspace"
    headers = {"authorization": f"Bearer {admin_key.secret}"}
    try:
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
        server.stop()


# --------------------------------------------- 2: Redis down at runtime


def test_a_server_whose_redis_is_down_serves_v1_in_json(catalog, api_key, fake_openai_server):
    """A server process whose ``REDIS_URL`` is a dead port: a good key's call is
    served, a bad key gets 401 and /v1/models 200, all JSON (before: a 500
    ``internal_error`` on every /v1 call and Django's HTML 500 page on
    /v1/models, while /healthz said 200)."""
    _, upstream = fake_openai_server
    server = _Server(
        DATABASE_URL=_database_url("junction-fault-redis"),
        REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0",  # nothing listens there
        CELERY_BROKER_URL="memory://",
        OPENAI_API_KEY="sk-platform-test",
        OPENAI_BASE_URL=f"{upstream.url}/v1",
    )
    try:
        good = {"authorization": f"Bearer {api_key.secret}"}
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
        answers = {
            "chat": httpx.post(f"{server.url}/v1/chat/completions", headers=good, json=chat, timeout=30),
            "bad key": httpx.post(
                f"{server.url}/v1/chat/completions",
                headers={"authorization": "Bearer sk-nope"},
                json=chat,
                timeout=30,
            ),
            "models": httpx.get(f"{server.url}/v1/models", headers=good, timeout=30),
        }
        statuses = {what: resp.status_code for what, resp in answers.items()}
        assert statuses == {"chat": 200, "bad key": 401, "models": 200}, {
            w: r.text[:200] for w, r in answers.items()
        }
        assert all(resp.headers["content-type"].startswith("application/json") for resp in answers.values())
        assert answers["bad key"].json()["error"]["code"] == "invalid_api_key"
    finally:
        server.stop()


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
