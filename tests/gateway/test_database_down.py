"""PostgreSQL down or restarting mid-call (the soak's restart, bench/README.md):
the caller gets a 503 it can retry, in its own format, not a 500 internal_error."""

from __future__ import annotations

import httpx
import pytest
from django.db import OperationalError

from firewall import runtime
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_database_that_does_not_answer_is_a_503_to_retry(junction, api_key, fake_openai, monkeypatch):
    def pool_timeout(workspace_id: int) -> None:
        raise OperationalError("couldn't get a connection after 10.00 sec")

    runtime.engine_cache.clear()
    monkeypatch.setattr(runtime, "_load", pool_timeout)  # the first query of the call that needs one
    resp = httpx.post(
        f"{junction.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {api_key.secret}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
        timeout=20,
    )
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "1"
    assert resp.json()["error"]["code"] == "service_unavailable"
    monkeypatch.undo()
    runtime.engine_cache.clear()
    (row,) = wait_for_logs(1)
    assert row.status_code == 503 and row.charged_units == 0
