"""/v1/messages end to end: the official Anthropic SDK -> live Junction -> fake
Anthropic (byte pass-through), fake Gemini and fake OpenAI (translation)."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from gateway import pipeline
from tests.fakes import anthropic_upstream, gemini_upstream
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temperature": {"type": "integer"}},
    "required": ["city", "temperature"],
    "additionalProperties": False,
}

UPSTREAMS = {
    "anthropic": ("claude-haiku-4-5", "fake_anthropic"),
    # The same upstream through the translation path (what a response-rewriting stage forces).
    "anthropic-translated": ("claude-haiku-4-5", "fake_anthropic"),
    "gemini": ("gemini-2.5-flash", "fake_gemini"),
    "openai": ("gpt-4o-mini", "fake_openai"),
}


@pytest.fixture(params=list(UPSTREAMS))
def upstream(request, monkeypatch):
    name = request.param
    if name == "anthropic-translated":
        monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    model, fixture = UPSTREAMS[name]
    return name.removesuffix("-translated"), model, request.getfixturevalue(fixture)


def _create(claude: anthropic.Anthropic, stream: bool, **kwargs) -> anthropic.types.Message:
    if stream:
        with claude.messages.stream(**kwargs) as s:
            return s.get_final_message()
    return claude.messages.create(**kwargs)


def _text(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_plain_text(claude, upstream, stream):
    name, model, fake = upstream
    message = _create(
        claude, stream, model=model, max_tokens=256, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert _text(message) == fake.reply
    assert message.role == "assistant" and message.type == "message"
    assert message.id.startswith("msg_")
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0
    extra = message.model_extra or {}
    if not stream:
        assert extra["provider"] == name and extra["x_request_id"].startswith("req_")
    (row,) = wait_for_logs(1)
    assert (row.endpoint, row.provider, row.status_code, row.stream) == ("messages", name, 200, stream)
    assert row.output_tokens > 0 and row.input_tokens > 0


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_tool_call_round_trip(claude, upstream, stream):
    name, model, fake = upstream
    first_turn = [{"role": "user", "content": "Weather in Paris? [[tool]]"}]
    message = _create(claude, stream, model=model, max_tokens=256, tools=[WEATHER_TOOL], messages=first_turn)
    (call,) = [b for b in message.content if b.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    assert message.stop_reason == "tool_use"
    follow_up = [
        *first_turn,
        {"role": "assistant", "content": [b.to_dict() for b in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}],
        },
    ]
    answer = _create(claude, stream, model=model, max_tokens=256, tools=[WEATHER_TOOL], messages=follow_up)
    assert answer.stop_reason == "end_turn"
    if name == "openai":  # the shared OpenAI fake does not echo tool results
        assert _text(answer) == fake.reply
    else:
        assert "Tool said:" in _text(answer) and "sunny, 21C" in _text(answer)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_json_schema_output(claude, upstream, stream):
    name, model, fake = upstream
    message = _create(
        claude,
        stream,
        model=model,
        max_tokens=256,
        messages=[{"role": "user", "content": "Weather as JSON"}],
        output_config={"format": {"type": "json_schema", "schema": SCHEMA}},
    )
    sent = fake.requests[-1].body
    if name == "openai":  # the shared OpenAI fake answers plain text; check what it was asked
        assert json.dumps(SCHEMA) in json.dumps(sent)
        return
    assert json.loads(_text(message)) == {"city": "Paris", "temperature": 21}
    if name == "anthropic":
        assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    elif name == "gemini":
        assert sent["generationConfig"]["responseJsonSchema"] == SCHEMA


# ------------------------------------------------------- Anthropic pass-through


def test_pass_through_forwards_the_body_and_reports_anthropic_usage(claude, fake_anthropic, api_key):
    raw = claude.messages.with_raw_response.create(
        model="claude-haiku-4-5",
        max_tokens=100,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Say hello"}],
        metadata={"user_id": "end-user-9"},
        extra_headers={"anthropic-beta": "fake-beta-2025-01-01"},
        extra_body={"service_tier": "auto"},
    )
    message = raw.parse()
    sent = fake_anthropic.requests[-1]
    assert sent.headers["x-api-key"] == "anthropic-platform-test"
    assert sent.headers["anthropic-beta"] == "fake-beta-2025-01-01"
    assert sent.body["model"] == "claude-haiku-4-5-20251001"
    assert sent.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent.body["service_tier"] == "auto"  # unknown fields survive the pass-through
    assert message.usage.input_tokens == 20 and message.usage.cache_read_input_tokens == 5
    assert message.model_extra["x_request_id"] == raw.headers["x-request-id"]
    (row,) = wait_for_logs(1)
    # canonical input = 20 + 5 (cache read) + 3 (cache write); cached = 5
    assert (row.input_tokens, row.cached_input_tokens, row.output_tokens) == (28, 5, 11)


def test_pass_through_stream_merges_extras_into_message_delta(junction, api_key, fake_anthropic):
    fake_anthropic.split = 3
    with httpx.stream(
        "POST",
        f"{junction.url}/v1/messages",
        headers={"x-api-key": api_key.secret, "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": "hi [[think]]"}],
        },
        timeout=10,
    ) as resp:
        body = resp.read().decode()
    frames = [f for f in body.split("\n\n") if f]
    names = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "ping" in names and "signature_delta" in body
    delta = json.loads(frames[-2].split("data: ", 1)[1])
    assert delta["usage"]["output_tokens"] == 11 and delta["provider"] == "anthropic"
    assert delta["x_request_id"] == resp.headers["x-request-id"]
    (row,) = wait_for_logs(1)
    assert (row.input_tokens, row.output_tokens, row.stream) == (28, 11, True)


def test_thinking_round_trips_with_signature(claude, fake_anthropic):
    with claude.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=4000,
        thinking={"type": "enabled", "budget_tokens": 2000},
        messages=[{"role": "user", "content": "Think [[think]]"}],
    ) as s:
        message = s.get_final_message()
    thinking = message.content[0]
    assert thinking.type == "thinking" and thinking.signature == anthropic_upstream.SIGNATURE
    assert thinking.thinking == "Let me think… step one."
    assert fake_anthropic.requests[-1].body["thinking"] == {"type": "enabled", "budget_tokens": 2000}


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("marker", "exc", "status", "kind"),
    [
        ("[[429]]", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("[[529]]", anthropic.InternalServerError, 529, "overloaded_error"),
        ("[[ctx]]", anthropic.BadRequestError, 400, "invalid_request_error"),
        ("[[500]]", anthropic.InternalServerError, 502, "api_error"),
    ],
)
def test_upstream_errors_in_anthropic_shape(claude, fake_anthropic, marker, exc, status, kind):
    with pytest.raises(exc) as info:
        claude.messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": marker}]
        )
    err = info.value
    assert err.status_code == status
    assert err.body["type"] == "error" and err.body["error"]["type"] == kind
    assert err.body["error"]["provider"] == "anthropic"
    assert err.body["request_id"] == err.response.headers["x-request-id"]
    if marker == "[[429]]":
        assert err.response.headers["retry-after"] == "7"
    if marker == "[[ctx]]":
        assert err.body["error"]["junction_type"] == "context_length_exceeded"


def test_mid_stream_error_event_raises_in_the_sdk(claude, fake_anthropic):
    """Anthropic's own ``event: error`` reaches the SDK through the pass-through."""
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        claude.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": "x [[overload-mid]]"}],
        ) as s,
    ):
        s.get_final_message()
    assert "overloaded" in str(info.value)


def test_translated_stream_cut_mid_way_is_an_error_event_naming_the_call(claude, fake_openai):
    """Over OpenAI (translation path) a broken upstream stream becomes Anthropic's
    ``event: error`` carrying the call's request id, then the stream ends."""
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        claude.messages.stream(
            model="gpt-4o-mini", max_tokens=10, messages=[{"role": "user", "content": "[[cut]] hi"}]
        ) as s,
    ):
        s.get_final_message()
    assert "failed mid-stream" in str(info.value)
    (row,) = wait_for_logs(1)
    assert info.value.body["request_id"] == row.request_id and row.error_type == "upstream_error"


def test_missing_and_bad_keys(junction, catalog):
    client = anthropic.Anthropic(api_key="jk-wrong", base_url=junction.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.body["error"]["type"] == "authentication_error"


def test_bearer_auth_also_works(junction, api_key, fake_anthropic):
    resp = httpx.post(
        f"{junction.url}/v1/messages",
        headers={"authorization": f"Bearer {api_key.secret}"},
        json={"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 200 and resp.json()["content"][0]["text"] == fake_anthropic.reply


def test_max_tokens_is_required(junction, api_key, fake_anthropic):
    resp = httpx.post(
        f"{junction.url}/v1/messages",
        headers={"x-api-key": api_key.secret},
        json={"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert resp.json()["error"]["param"] == "max_tokens"
    assert fake_anthropic.requests == []


def test_refusal_names_the_parameter_over_gemini(claude, fake_gemini):
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.messages.create(
            model="gemini-2.5-flash",
            max_tokens=10,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "auto", "disable_parallel_tool_use": True},
            messages=[{"role": "user", "content": "x"}],
        )
    assert info.value.body["error"]["param"] == "tool_choice.disable_parallel_tool_use"
    assert fake_gemini.requests == []


def test_oversized_body_answers_in_anthropic_shape(junction, api_key, settings):
    settings.JUNCTION_MAX_BODY_BYTES = 1000
    resp = httpx.post(
        f"{junction.url}/v1/messages",
        headers={"x-api-key": api_key.secret},
        content=b'{"pad": "' + b"x" * 5000 + b'"}',
    )
    assert resp.status_code == 413
    assert resp.json()["type"] == "error" and resp.json()["error"]["type"] == "request_too_large"


# -------------------------------------------------------------- count_tokens


def test_count_tokens_asks_anthropic_when_it_is_the_upstream(claude, fake_anthropic):
    count = claude.messages.count_tokens(
        model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert count.input_tokens == 42 and count.model_extra["estimated"] is False
    assert fake_anthropic.requests[-1].path == "/v1/messages/count_tokens"
    assert fake_anthropic.requests[-1].body["model"] == "claude-haiku-4-5-20251001"


def test_count_tokens_estimates_for_other_upstreams(claude, fake_gemini):
    count = claude.messages.count_tokens(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "x" * 400}]
    )
    assert count.input_tokens == 104 and count.model_extra["estimated"] is True
    assert fake_gemini.requests == []


def test_gemini_signatures_travel_back(claude, fake_gemini):
    first = [{"role": "user", "content": "Weather? [[tool]]"}]
    message = claude.messages.create(
        model="gemini-2.5-flash", max_tokens=100, tools=[WEATHER_TOOL], messages=first
    )
    call = next(b for b in message.content if b.type == "tool_use")
    follow_up = [
        *first,
        {"role": "assistant", "content": [b.to_dict() for b in message.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ]
    claude.messages.create(model="gemini-2.5-flash", max_tokens=100, tools=[WEATHER_TOOL], messages=follow_up)
    model_turn = fake_gemini.requests[-1].body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["functionCall"]["name"] == "get_weather"
    assert model_turn["parts"][0]["thoughtSignature"] == gemini_upstream.SIGNATURE
    response = fake_gemini.requests[-1].body["contents"][2]["parts"][0]["functionResponse"]
    assert response == {"name": "get_weather", "response": {"result": "sunny"}}


@pytest.mark.parametrize(
    ("marker", "exc", "status", "kind"),
    [
        ("[[429]]", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("[[503]]", anthropic.InternalServerError, 529, "overloaded_error"),
        ("[[ctx]]", anthropic.BadRequestError, 400, "invalid_request_error"),
    ],
)
def test_gemini_errors_in_anthropic_shape(claude, fake_gemini, marker, exc, status, kind):
    with pytest.raises(exc) as info:
        claude.messages.create(
            model="gemini-2.5-flash", max_tokens=10, messages=[{"role": "user", "content": marker}]
        )
    assert info.value.status_code == status
    assert info.value.body["error"]["type"] == kind and info.value.body["error"]["provider"] == "gemini"
    assert info.value.body["error"]["raw"]["error"]["status"] in (
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "INVALID_ARGUMENT",
    )


# ----------------------------------------------------------------- firewall


def test_firewall_on_messages_masks_the_pass_through_and_blocks_in_anthropic_shape(
    claude, fake_anthropic, api_key
):
    from firewall.rules import RuleData
    from firewall.services import Actor, policy_create

    email, aws = "jane.doe@example.com", "AKIAIOSFODNN7EXAMPLE"
    rules = [
        RuleData(name="emails", matcher="detector", detector="email", scopes=["prompt"], action="mask"),
        RuleData(
            name="aws", matcher="detector", detector="aws_access_key", scopes=["prompt"], action="block"
        ),
    ]
    policy_create(workspace=api_key.workspace, actor=Actor(label="test"), name="default", rules=rules)
    message = claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=20,
        messages=[{"role": "user", "content": f"Mail {email} please"}],
    )
    assert email not in json.dumps(fake_anthropic.requests[-1].body)
    assert message.model_extra["firewall"][0]["rule"] == "emails"
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.messages.create(
            model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": f"key {aws}"}]
        )
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == "invalid_request_error"
    assert info.value.body["error"]["junction_type"] == "firewall_blocked"
    assert len(fake_anthropic.requests) == 1


def test_firewall_response_scope_masks_a_messages_stream(claude, fake_anthropic, api_key):
    from firewall.rules import RuleData
    from firewall.services import Actor, policy_create

    rule = RuleData(name="fake", matcher="substring", pattern="Claude", scopes=["response"], action="mask")
    policy_create(workspace=api_key.workspace, actor=Actor(label="test"), name="default", rules=[rule])
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
    ) as s:
        message = s.get_final_message()
    assert "Claude" not in _text(message) and _text(message).startswith("Hello from fake ")
