"""The walking skeleton end to end: the official OpenAI SDK -> live Junction -> fake OpenAI."""

from __future__ import annotations

import httpx
import openai
import pytest

from gateway.models import RequestLog
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)


def logs(expected: int = 1) -> list[RequestLog]:
    """The request log rows, once ``expected`` have landed (a stream's row is
    queued just after its last byte is sent, so give it a moment)."""
    return wait_for_logs(expected)


def test_chat_completion_non_streaming(client, fake_openai, api_key):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Say hello"}],
        metadata={"team": "search"},
        user="end-user-7",
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == fake_openai.reply
    assert completion.usage.prompt_tokens == 12
    request_id = raw.headers["x-request-id"]
    assert request_id.startswith("req_")
    assert completion.model_extra["x_request_id"] == request_id
    assert completion.model_extra["provider"] == "openai"
    assert isinstance(completion.model_extra["latency_ms"], int)

    sent = fake_openai.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-platform-test"
    assert sent.body["model"] == "gpt-4o-mini"

    (row,) = logs()
    assert row.request_id == request_id
    assert row.workspace_id == api_key.workspace.pk and row.api_key_id == api_key.pk
    assert (row.endpoint, row.model_requested, row.model_used, row.provider) == (
        "chat.completions",
        "gpt-4o-mini",
        "gpt-4o-mini",
        "openai",
    )
    assert (row.status_code, row.stream, row.error_type) == (200, False, "")
    assert (row.input_tokens, row.cached_input_tokens, row.output_tokens) == (12, 2, 9)
    assert row.metadata == {"team": "search"} and row.user == "end-user-7"
    assert row.client_ip == "127.0.0.1" and "OpenAI" in row.user_agent
    assert row.ttfb_ms is not None and row.latency_ms >= row.ttfb_ms


def test_chat_stream_reassembles_split_bytes_and_keeps_order(client, fake_openai):
    fake_openai.split = 3  # every SSE frame arrives in 3-byte pieces, splitting UTF-8 sequences
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake_openai.reply
    assert chunks[-1].choices[0].finish_reason == "stop"
    # The client did not ask for usage: Junction asked upstream, but withholds the usage-only chunk.
    assert all(c.choices for c in chunks)
    assert fake_openai.requests[-1].body["stream_options"] == {"include_usage": True}
    (row,) = logs()
    assert row.stream and row.output_tokens == 9 and row.status_code == 200


def test_chat_stream_with_include_usage(client, fake_openai):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == 9
    assert last.model_extra["x_request_id"].startswith("req_")
    assert last.model_extra["provider"] == "openai"


def test_chunks_reach_the_client_before_the_upstream_finishes(client, fake_openai):
    """No buffering anywhere: the upstream holds its stream open after the first
    chunk until the test has received that chunk through Junction."""
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "[[hold]] hi"}], stream=True
    )
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    fake_openai.release.set()
    rest = list(stream)
    assert rest[-1].choices[0].finish_reason == "stop"


def test_responses_non_streaming(client, fake_openai):
    raw = client.responses.with_raw_response.create(
        model="gpt-4o-mini", input="Say hello", instructions="Be brief"
    )
    response = raw.parse()
    assert response.output_text == fake_openai.reply
    assert response.usage.input_tokens == 14
    assert response.model_extra["x_request_id"] == raw.headers["x-request-id"]
    assert fake_openai.requests[-1].path == "/v1/responses"
    assert fake_openai.requests[-1].body["store"] is False
    (row,) = logs()
    assert (row.endpoint, row.input_tokens, row.cached_input_tokens, row.reasoning_tokens) == (
        "responses",
        14,
        4,
        3,
    )


def test_responses_stream_passes_every_event_in_order(client, fake_openai):
    fake_openai.split = 7
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == fake_openai.reply
    completed = events[-1].response
    assert completed.usage.output_tokens == 11
    assert completed.model_extra["x_request_id"].startswith("req_")


def test_api_v1_mount(junction, api_key, fake_openai):
    client = openai.OpenAI(api_key=api_key.secret, base_url=f"{junction.url}/api/v1", max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content == fake_openai.reply
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"


def test_models_lists_only_configured_providers_with_metadata(client, fake_openai):
    models = {m.id: m for m in client.models.list()}
    assert "gpt-4o-mini" in models and "text-embedding-3-small" in models
    assert "claude-sonnet-4-5" not in models  # anthropic has no key configured
    mini = models["gpt-4o-mini"]
    assert mini.owned_by == "openai" and mini.object == "model"
    assert mini.model_extra["pricing"]["input"] == "0.150000"
    assert "tools" in mini.model_extra["capabilities"] and mini.model_extra["providers"] == ["openai"]
    assert client.models.retrieve("gpt-4o").model_extra["context_window"] == 128000
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("claude-sonnet-4-5")


def test_client_disconnect_mid_stream_is_logged(junction, api_key, fake_openai):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "[[hold]] hi"}], "stream": True}
    headers = {"authorization": f"Bearer {api_key.secret}"}
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{junction.url}/v1/chat/completions", headers=headers, json=body) as resp,
    ):
        assert resp.status_code == 200
        request_id = resp.headers["x-request-id"]
        next(resp.iter_raw())
    # Read the row before releasing the upstream: released first, the rest of
    # the stream could finish before Junction notices the disconnect (a race).
    (row,) = wait_for_logs(request_id=request_id)
    fake_openai.release.set()
    assert row.status_code == 499 and row.extra.get("client_disconnected") is True
