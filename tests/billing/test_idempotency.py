"""Idempotency-Key on model calls."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from billing.models import IdempotencyRecord
from tests.billing.conftest import charges, wait_settled
from tests.conftest import make_key

pytestmark = pytest.mark.django_db(transaction=True)


def post(junction, key, body, idem: str | None):
    headers = {"authorization": f"Bearer {key.secret}"}
    if idem:
        headers["idempotency-key"] = idem
    return httpx.post(f"{junction.url}/v1/chat/completions", headers=headers, json=body, timeout=20)


BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 20}


def test_retry_returns_the_stored_answer_without_upstream_or_charge(junction, api_key, fake_openai, priced):
    first = post(junction, api_key, BODY, "abc-1")
    assert first.status_code == 200
    wait_settled()
    second = post(junction, api_key, BODY, "abc-1")
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["x-request-id"] == first.headers["x-request-id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["x-junction-cost"] == first.headers["x-junction-cost"]
    assert len(fake_openai.requests) == 1 and len(charges()) == 1


def test_the_sdk_retry_sees_the_same_completion(junction, api_key, fake_openai, priced):
    client = openai.OpenAI(api_key=api_key.secret, base_url=f"{junction.url}/v1", max_retries=0)
    opts = {"extra_headers": {"Idempotency-Key": "sdk-1"}}
    a = client.chat.completions.create(model="gpt-4o-mini", messages=BODY["messages"], max_tokens=20, **opts)
    b = client.chat.completions.create(model="gpt-4o-mini", messages=BODY["messages"], max_tokens=20, **opts)
    assert a.id == b.id and a.model_extra["x_request_id"] == b.model_extra["x_request_id"]
    assert len(fake_openai.requests) == 1


def test_same_key_different_body_is_422(junction, api_key, fake_openai, priced):
    assert post(junction, api_key, BODY, "abc-2").status_code == 200
    other = post(junction, api_key, {**BODY, "max_tokens": 21}, "abc-2")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(fake_openai.requests) == 1


def test_same_key_while_running_is_409(junction, api_key, fake_openai, priced, monkeypatch):
    monkeypatch.setattr(fake_openai, "slow_seconds", 1.5)
    slow = {**BODY, "messages": [{"role": "user", "content": "[[slow]] hi"}]}
    results: list[httpx.Response] = []
    first = threading.Thread(target=lambda: results.append(post(junction, api_key, slow, "abc-3")))
    first.start()
    deadline = time.monotonic() + 5
    while not fake_openai.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    second = post(junction, api_key, slow, "abc-3")
    first.join()
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_request_in_progress"
    assert results[0].status_code == 200
    assert post(junction, api_key, slow, "abc-3").content == results[0].content


def test_failed_call_frees_the_key(junction, api_key, fake_openai, priced):
    failing = {**BODY, "messages": [{"role": "user", "content": "[[500]] hi"}]}
    assert post(junction, api_key, failing, "abc-4").status_code == 502
    wait_settled()
    deadline = time.monotonic() + 5
    while IdempotencyRecord.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert post(junction, api_key, failing, "abc-4").status_code == 502
    assert len(fake_openai.requests) == 2


def test_keys_are_scoped_per_workspace(junction, api_key, other_workspace, fake_openai, priced):
    from billing.services import credits_grant

    credits_grant(workspace_id=other_workspace.pk, units=1_000_000, reason="test")
    other = make_key(other_workspace)
    a = post(junction, api_key, BODY, "shared")
    b = post(junction, other, BODY, "shared")
    assert a.status_code == b.status_code == 200
    assert a.headers["x-request-id"] != b.headers["x-request-id"]
    assert len(fake_openai.requests) == 2


def test_streamed_call_marks_its_key_used(junction, api_key, fake_openai, priced):
    body = {**BODY, "stream": True}
    assert post(junction, api_key, body, "abc-5").status_code == 200
    deadline = time.monotonic() + 5
    while IdempotencyRecord.objects.filter(status="running").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    again = post(junction, api_key, body, "abc-5")
    assert again.status_code == 409 and len(fake_openai.requests) == 1


def test_expired_and_abandoned_claims_free_their_key(workspace):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services.idempotency import ClaimOutcome, idempotency_claim

    def claim(request_id: str, now=None):
        return idempotency_claim(
            workspace_id=workspace.pk, key="k", body_sha256="h", request_id=request_id, stream=False, now=now
        ).outcome

    assert claim("req_1") is ClaimOutcome.CLAIMED
    assert claim("req_2") is ClaimOutcome.RUNNING
    # A claim whose process died is reclaimable after a while; a finished one after 24 h.
    assert claim("req_3", now=timezone.now() + timedelta(hours=1)) is ClaimOutcome.CLAIMED
    IdempotencyRecord.objects.update(status="done", response_body=b"{}")
    assert claim("req_4", now=timezone.now() + timedelta(hours=2)) is ClaimOutcome.DONE
    assert claim("req_5", now=timezone.now() + timedelta(hours=26)) is ClaimOutcome.CLAIMED
