"""Many simultaneous calls from one workspace through the live server (PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from billing.models import CreditAccount, Plan
from billing.selectors import ledger_mismatches
from tests.billing.conftest import CHAT_COST_UNITS, balance, charges, set_balance, wait_settled
from tests.helpers import wait_for_logs

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLS = 50
FUNDED = 20


def test_fifty_concurrent_streams_never_overdraw(junction, api_key, fake_openai, priced):
    if connection.vendor != "postgresql":
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    ws = api_key.workspace.pk
    unlimited = Plan.objects.create(slug="test-unlimited", name="Unlimited")
    CreditAccount.objects.filter(workspace_id=ws).update(plan=unlimited)
    url = f"{junction.url}/v1/chat/completions"
    headers = {"authorization": f"Bearer {api_key.secret}"}
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "[[hold]] hi"}],
        "stream": True,
        "max_tokens": 100,
    }
    # Probe the worst case Junction reserves for this exact body.
    fake_openai.release.set()
    with httpx.Client(timeout=20) as http:
        assert http.post(url, headers=headers, json=body).status_code == 200
    wait_settled()
    (probe,) = wait_for_logs()
    worst = probe.extra["held_units"]
    fake_openai.release.clear()
    set_balance(ws, FUNDED * worst)  # covers exactly 20 of the 50
    start_charges = len(charges())

    decided = threading.Barrier(CALLS + 1)

    def call(_: int) -> int:
        with httpx.Client(timeout=30) as http, http.stream("POST", url, headers=headers, json=body) as resp:
            status = resp.status_code
            chunks = resp.iter_raw()
            if status == 200:
                next(chunks)  # the first chunk: the call holds its reservation
            decided.wait()
            for _ in chunks:
                pass
            return status

    with ThreadPoolExecutor(CALLS) as pool:
        futures = [pool.submit(call, i) for i in range(CALLS)]
        decided.wait(timeout=30)  # every call admitted or refused, none settled yet
        assert balance(ws) == (FUNDED * worst, FUNDED * worst)
        fake_openai.release.set()
        statuses = [f.result() for f in futures]

    assert statuses.count(200) == FUNDED and statuses.count(402) == CALLS - FUNDED
    wait_settled()
    assert len(charges()) - start_charges == FUNDED
    assert balance(ws) == (FUNDED * worst - FUNDED * CHAT_COST_UNITS, 0)
    assert ledger_mismatches() == []
