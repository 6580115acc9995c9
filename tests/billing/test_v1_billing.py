"""Billing end to end: the official OpenAI SDK -> live Junction -> fake OpenAI."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from billing.models import EntryKind, LedgerEntry
from billing.selectors import ledger_mismatches
from tests.billing.conftest import (
    CHAT_COST_UNITS,
    RESPONSES_COST_UNITS,
    balance,
    charges,
    set_balance,
    wait_settled,
)
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = [{"role": "user", "content": "Say hello"}]


def test_non_streaming_chat_carries_cost_and_is_charged_once(client, fake_openai, api_key, priced):
    ws = api_key.workspace.pk
    before = balance(ws)[0]
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=CHAT, max_tokens=50)
    completion = raw.parse()
    assert completion.model_extra["cost"] == pytest.approx(0.029)
    assert completion.usage.model_extra["cost"] == pytest.approx(0.029)  # markup 1: true cost = charge
    assert raw.headers["x-junction-cost"] == "0.029"
    wait_settled()
    assert balance(ws) == (before - CHAT_COST_UNITS, 0)
    (charge,) = charges()
    assert charge.amount_units == -CHAT_COST_UNITS and charge.request_id == raw.headers["x-request-id"]
    (row,) = wait_for_logs()
    assert (row.cost_units, row.charged_units, row.cost_estimated) == (
        CHAT_COST_UNITS,
        CHAT_COST_UNITS,
        False,
    )
    assert ledger_mismatches() == []


def test_markup_applies_to_the_charge_not_the_true_cost(client, fake_openai, api_key, priced):
    from billing.models import CreditAccount

    CreditAccount.objects.filter(workspace=api_key.workspace).update(markup="1.5")
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=50)
    assert completion.usage.model_extra["cost"] == pytest.approx(0.029)
    assert completion.model_extra["cost"] == pytest.approx(0.0435)
    wait_settled()
    assert charges()[0].amount_units == -435


def test_stream_reports_cost_in_the_usage_chunk_and_is_charged(client, fake_openai, api_key, priced):
    ws = api_key.workspace.pk
    before = balance(ws)[0]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=CHAT, stream=True, stream_options={"include_usage": True}, max_tokens=50
    )
    last = list(stream)[-1]
    assert last.usage.completion_tokens == 9
    assert last.usage.model_extra["cost"] == pytest.approx(0.029)
    assert last.model_extra["cost"] == pytest.approx(0.029)
    wait_settled()
    assert balance(ws) == (before - CHAT_COST_UNITS, 0)


def test_stream_without_usage_requested_is_still_charged(client, fake_openai, api_key, priced):
    """No stream is billed at $0: Junction asks upstream for usage even when the client did not."""
    before = balance(api_key.workspace.pk)[0]
    list(client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True, max_tokens=50))
    wait_settled()
    assert balance(api_key.workspace.pk)[0] == before - CHAT_COST_UNITS


def test_responses_api_json_and_stream_carry_cost(client, fake_openai, api_key, priced):
    resp = client.responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=50)
    assert resp.model_extra["cost"] == pytest.approx(0.034)
    assert resp.usage.model_extra["cost"] == pytest.approx(0.034)
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True, max_output_tokens=50))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.model_extra["cost"] == pytest.approx(0.034)
    assert completed.response.usage.model_extra["cost"] == pytest.approx(0.034)
    wait_settled()
    assert [c.amount_units for c in charges()] == [-RESPONSES_COST_UNITS] * 2


def test_insufficient_balance_is_402_with_no_upstream_call(client, fake_openai, api_key, priced):
    ws = api_key.workspace.pk
    # Worst case of this call: ~150 input bytes x $1000/M + 1000 output x $2000/M = > $2; hold $1.
    set_balance(ws, 10_000)
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=1000)
    assert exc.value.status_code == 402
    error = exc.value.body
    assert error["type"] == "insufficient_quota" and error["code"] == "insufficient_quota"
    assert "balance is too low" in error["message"]
    assert fake_openai.requests == []
    assert balance(ws) == (10_000, 0) and charges() == []
    (row,) = wait_for_logs()
    assert row.status_code == 402 and row.charged_units == 0
    # A smaller worst case fits.
    client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=10)
    wait_settled()
    assert balance(ws) == (10_000 - CHAT_COST_UNITS, 0)


def test_upstream_failure_charges_nothing_and_releases(client, fake_openai, api_key, priced):
    ws = api_key.workspace.pk
    before = balance(ws)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "[[500]] hi"}], max_tokens=50
        )
    wait_settled()
    assert balance(ws) == before and charges() == []


def test_stream_cut_by_upstream_is_charged_an_estimate(client, fake_openai, api_key, priced):
    ws = api_key.workspace.pk
    before = balance(ws)[0]
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "[[cut]] hi"}], stream=True, max_tokens=50
    )
    with pytest.raises(openai.APIError):
        list(stream)
    wait_settled()
    (row,) = wait_for_logs()
    assert row.cost_estimated is True and row.charged_units > 0
    (charge,) = charges()
    assert charge.amount_units == -row.charged_units
    assert balance(ws) == (before - row.charged_units, 0)


def test_client_disconnect_mid_stream_is_charged_for_what_was_produced(
    junction, api_key, fake_openai, priced
):
    ws = api_key.workspace.pk
    before = balance(ws)[0]
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "[[hold]] hi"}],
        "stream": True,
        "max_tokens": 50,
    }
    headers = {"authorization": f"Bearer {api_key.secret}"}
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{junction.url}/v1/chat/completions", headers=headers, json=body) as resp,
    ):
        assert resp.status_code == 200
        next(resp.iter_raw())
    time.sleep(0.3)  # let the server see the disconnect before upstream moves on
    fake_openai.release.set()
    (row,) = wait_for_logs()
    wait_settled()
    assert row.status_code == 499 and row.cost_estimated is True and row.charged_units > 0
    assert balance(ws) == (before - row.charged_units, 0)
    assert ledger_mismatches() == []


def test_failure_before_any_output_charges_nothing_on_a_stream(client, fake_openai, api_key, priced):
    before = balance(api_key.workspace.pk)
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "[[503]] hi"}],
            stream=True,
            max_tokens=5,
        )
    wait_settled()
    assert balance(api_key.workspace.pk) == before and charges() == []


def test_free_model_needs_no_balance(client, fake_openai, api_key, catalog):
    from tests.billing.conftest import set_prices

    set_prices("gpt-4o-mini", input="0", cached_input="0", output="0")
    set_balance(api_key.workspace.pk, 0)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT)
    assert completion.model_extra["cost"] == 0
    assert not LedgerEntry.objects.filter(kind=EntryKind.CHARGE).exists()


def test_credits_endpoint(client, junction, api_key, fake_openai, priced):
    client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=50)
    wait_settled()
    time.sleep(0.05)
    wait_for_logs()
    for prefix in ("/v1", "/api/v1"):
        resp = httpx.get(
            f"{junction.url}{prefix}/credits", headers={"authorization": f"Bearer {api_key.secret}"}
        )
        assert resp.status_code == 200
        body = resp.json()
        units = balance(api_key.workspace.pk)[0]
        assert body["balance_units"] == units and body["balance"] == pytest.approx(units / 10_000)
        assert body["available_units"] == units and body["reserved_units"] == 0
        assert body["key"]["prefix"] == api_key.prefix and body["key"]["period"] == "month"
        assert body["key"]["spend_units"] == CHAT_COST_UNITS
    assert httpx.get(f"{junction.url}/v1/credits").status_code == 401


def test_credits_endpoint_is_per_workspace(junction, api_key, other_workspace):
    from tests.conftest import make_key

    other = make_key(other_workspace)
    body = httpx.get(f"{junction.url}/v1/credits", headers={"authorization": f"Bearer {other.secret}"}).json()
    assert body["workspace"] == other_workspace.slug and body["balance_units"] == 0


@pytest.mark.parametrize(("fee", "charged"), [(0.0, 0), (10.0, CHAT_COST_UNITS // 10)])
def test_byok_calls_pay_only_the_platform_fee(junction, api_key, fake_openai, priced, settings, fee, charged):
    settings.BYOK_PLATFORM_FEE_PERCENT = fee
    client = openai.OpenAI(
        api_key=api_key.secret,
        base_url=f"{junction.url}/v1",
        max_retries=0,
        default_headers={"X-OpenAI-Key": "sk-customer-own"},
    )
    before = balance(api_key.workspace.pk)[0]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=50)
    assert fake_openai.requests[-1].headers["authorization"] == "Bearer sk-customer-own"
    # usage.cost: what the upstream bills the customer; cost: Junction's fee.
    assert completion.usage.model_extra["cost"] == pytest.approx(0.029)
    assert completion.model_extra["cost"] == pytest.approx(charged / 10_000)
    wait_settled()
    assert balance(api_key.workspace.pk) == (before - charged, 0)


@pytest.mark.parametrize("stream", [False, True])
def test_translation_path_carries_cost_too(client, fake_openai, api_key, priced, monkeypatch, stream):
    """Forced translation: a chat caller served from OpenAI's Responses API
    (the fake's Responses usage: 14 in, 4 cached, 11 out = 340 units)."""
    from gateway import pipeline

    monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    before = balance(api_key.workspace.pk)[0]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=CHAT,
                max_tokens=50,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        last = chunks[-1]
        usage_cost, cost = last.usage.model_extra["cost"], last.model_extra["cost"]
    else:
        completion = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, max_tokens=50)
        usage_cost, cost = completion.usage.model_extra["cost"], completion.model_extra["cost"]
    assert fake_openai.requests[-1].path == "/v1/responses"
    assert usage_cost == pytest.approx(0.034) and cost == pytest.approx(0.034)
    wait_settled()
    assert balance(api_key.workspace.pk)[0] == before - RESPONSES_COST_UNITS


def test_translated_responses_stream_carries_cost(client, fake_openai, api_key, priced, monkeypatch):
    from gateway import pipeline

    monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True, max_output_tokens=50))
    completed = events[-1].response
    assert completed.usage.model_extra["cost"] == pytest.approx(0.034)
    assert completed.model_extra["cost"] == pytest.approx(0.034)


# Anthropic's fake usage: 20 input + 5 cache reads + 3 cache writes, 11 output ->
# 23 x 1000 + 5 x 500 + 11 x 2000 per 1M = $0.0475 = 475 units.
MESSAGES_COST_UNITS = 475


@pytest.mark.parametrize("translated", [False, True])
def test_messages_pass_through_and_translated_carry_cost(
    junction, api_key, fake_anthropic, catalog, monkeypatch, translated
):
    from gateway import pipeline
    from tests.billing.conftest import PRICES, set_prices

    if translated:
        monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    set_prices("claude-haiku-4-5", **PRICES)
    before = balance(api_key.workspace.pk)[0]
    url = f"{junction.url}/v1/messages"
    headers = {"x-api-key": api_key.secret, "anthropic-version": "2023-06-01"}
    body = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    answer = httpx.post(url, headers=headers, json=body, timeout=20)
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["cost"] == pytest.approx(0.0475) and answer.json()["cost"] == pytest.approx(
        0.0475
    )
    final = None
    with httpx.stream("POST", url, headers=headers, json={**body, "stream": True}, timeout=20) as resp:
        for line in resp.iter_lines():
            if line.startswith("data: ") and '"message_delta"' in line:
                final = json.loads(line[6:])
    assert final is not None
    assert final["usage"]["cost"] == pytest.approx(0.0475) and final["cost"] == pytest.approx(0.0475)
    wait_settled()
    assert balance(api_key.workspace.pk)[0] == before - 2 * MESSAGES_COST_UNITS
