"""The firewall in the /v1 pipeline, end to end: the official OpenAI SDK ->
live Junction -> fake OpenAI upstream."""

from __future__ import annotations

import json

import openai
import pytest

from firewall.rules import RuleData
from firewall.services import Actor, policy_create
from tests.helpers import wait_for_logs

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "jane.doe@example.com"
AWS = "AKIAIOSFODNN7EXAMPLE"


def policy(workspace, *rules: RuleData, name: str = "default"):
    return policy_create(workspace=workspace, actor=Actor(label="test"), name=name, rules=list(rules))


def mask_emails(scopes=("prompt",), action="mask", name="emails") -> RuleData:
    return RuleData(name=name, matcher="detector", detector="email", scopes=list(scopes), action=action)


def block_aws(scopes=("prompt",)) -> RuleData:
    return RuleData(
        name="no aws keys", matcher="detector", detector="aws_access_key", scopes=list(scopes), action="block"
    )


def sent_texts(fake) -> str:
    return json.dumps(fake.requests[-1].body)


def test_prompt_mask_changes_what_is_sent_upstream_and_is_recorded(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails())
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": f"Escalate to {EMAIL}."},
            {"role": "user", "content": [{"type": "text", "text": f"Is {EMAIL} the same as other@example.org?"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": json.dumps({"who": EMAIL})}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": f"found {EMAIL}"},
        ],
    )  # fmt: skip
    completion = raw.parse()
    body = fake_openai.requests[-1].body
    assert EMAIL not in sent_texts(fake_openai) and "other@example.org" not in sent_texts(fake_openai)
    assert body["messages"][0]["content"] == "Escalate to [EMAIL_1]."
    assert body["messages"][1]["content"][0]["text"] == "Is [EMAIL_1] the same as [EMAIL_2]?"
    assert json.loads(body["messages"][2]["tool_calls"][0]["function"]["arguments"]) == {"who": "[EMAIL_1]"}
    assert body["messages"][3]["content"] == "found [EMAIL_1]"
    hit = {"rule": "emails", "scope": "prompt", "action": "mask", "count": 5}
    assert {k: completion.model_extra["firewall"][0][k] for k in hit} == hit
    assert raw.headers["x-junction-firewall"].endswith("scope=prompt;action=mask;count=5")
    (row,) = wait_for_logs()
    assert [{k: r[k] for k in hit} for r in row.extra["firewall"]] == [hit]
    assert EMAIL not in json.dumps(row.extra)


def test_prompt_block_refuses_without_calling_upstream(client, fake_openai, api_key):
    policy(api_key.workspace, block_aws())
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"store {AWS} please"}]
        )
    assert fake_openai.requests == []
    err = info.value
    assert err.status_code == 400
    body = err.body
    assert body["type"] == "firewall_blocked" and body["code"] == "firewall_blocked"
    assert "no aws keys" in body["message"]
    assert body["rule_trace"][0]["rule"] == "no aws keys" and body["request_id"].startswith("req_")
    assert "scope=prompt;action=block;count=1" in err.response.headers["x-junction-firewall"]
    assert AWS not in err.response.text
    (row,) = wait_for_logs()
    assert (row.status_code, row.error_type) == (400, "firewall_blocked")
    assert row.extra["firewall"][0]["action"] == "block" and AWS not in json.dumps(row.extra)


def test_responses_api_prompt_and_instructions_are_masked(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails())
    client.responses.create(
        model="gpt-4o-mini",
        instructions=f"Sign as {EMAIL}",
        input=[{"role": "user", "content": [{"type": "input_text", "text": f"mail {EMAIL}"}]}],
    )
    body = fake_openai.requests[-1].body
    assert body["instructions"] == "Sign as [EMAIL_1]"
    assert body["input"][0]["content"][0]["text"] == "mail [EMAIL_1]"


def test_metadata_scope_masks_metadata_and_user_only(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails(scopes=("metadata",)))
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"hi {EMAIL}"}],
        metadata={"owner": EMAIL},
        user=EMAIL,
    )
    body = fake_openai.requests[-1].body
    assert body["metadata"] == {"owner": "[EMAIL_1]"} and body["user"] == "[EMAIL_1]"
    assert body["messages"][0]["content"] == f"hi {EMAIL}"  # prompt scope not selected
    (row,) = wait_for_logs()
    assert row.metadata == {"owner": "[EMAIL_1]"} and row.user == "[EMAIL_1]"


def test_metadata_block(client, fake_openai, api_key):
    policy(api_key.workspace, block_aws(scopes=("metadata",)))
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], metadata={"k": AWS}
        )
    assert info.value.body["type"] == "firewall_blocked" and fake_openai.requests == []


def test_warn_passes_through_and_records(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails(action="warn", name="watch emails"))
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"hi {EMAIL}"}]
    )
    assert fake_openai.requests[-1].body["messages"][0]["content"] == f"hi {EMAIL}"
    assert completion.model_extra["firewall"][0]["action"] == "warn"


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_response_scope_masks_a_non_streaming_answer(client, fake_openai, api_key, api):
    policy(api_key.workspace, mask_emails(scopes=("response",)))
    fake_openai.reply = f"Contact {EMAIL} today."
    if api == "chat":
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"who is {EMAIL}?"}]
        )
        answer = raw.parse()
        text = answer.choices[0].message.content
    else:
        raw = client.responses.with_raw_response.create(model="gpt-4o-mini", input=f"who is {EMAIL}?")
        answer = raw.parse()
        text = answer.output_text
    assert text == "Contact [EMAIL_1] today."
    assert EMAIL not in raw.http_response.text
    assert EMAIL in sent_texts(fake_openai)  # prompt scope not selected: sent as is
    assert answer.model_extra["firewall"][0]["scope"] == "response"
    assert "scope=response;action=mask;count=1" in raw.headers["x-junction-firewall"]
    assert answer.usage is not None


def test_same_value_same_placeholder_across_prompt_and_answer(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails(scopes=("prompt", "response")))
    fake_openai.reply = f"I wrote to {EMAIL}."
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"a@example.org and {EMAIL}"}]
    )
    assert fake_openai.requests[-1].body["messages"][0]["content"] == "[EMAIL_1] and [EMAIL_2]"
    assert completion.choices[0].message.content == "I wrote to [EMAIL_2]."


def test_response_scope_block_withholds_the_answer(client, fake_openai, api_key):
    policy(api_key.workspace, block_aws(scopes=("response",)))
    fake_openai.reply = f"Your key is {AWS}"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "key?"}])
    assert info.value.body["type"] == "firewall_blocked"
    assert AWS not in info.value.response.text
    assert len(fake_openai.requests) == 1  # the model was called; its answer was withheld
    (row,) = wait_for_logs()
    assert row.error_type == "firewall_blocked" and row.output_tokens == 9  # usage still accounted


def stream_text(client, **kwargs) -> tuple[str, list]:
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", stream=True, **kwargs))
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), chunks


@pytest.mark.parametrize("split", [1, 2, 3, 5, 8, 13, 64])
def test_response_scope_masks_a_chat_stream_split_anywhere(client, fake_openai, api_key, split):
    """Streams with response rules leave the byte pass-through for the
    translation path (decoder -> firewall -> encoder); the upstream's bytes
    arrive in ``split``-byte pieces, so the secret is cut at many places."""
    policy(api_key.workspace, mask_emails(scopes=("response",)))
    fake_openai.split = split
    fake_openai.reply = f"Contact {EMAIL} today, or {EMAIL}."
    text, chunks = stream_text(
        client, messages=[{"role": "user", "content": "hi"}], stream_options={"include_usage": True}
    )
    assert text == "Contact [EMAIL_1] today, or [EMAIL_1]."
    assert fake_openai.requests[-1].path == "/v1/responses"  # translated, not passed through
    assert chunks[-1].usage is not None
    assert chunks[-1].model_extra["firewall"][0]["count"] == 2
    (row,) = wait_for_logs()
    assert row.extra["firewall"][0]["scope"] == "response" and EMAIL not in json.dumps(row.extra)


def test_response_scope_masks_a_responses_stream(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails(scopes=("response",)))
    fake_openai.split = 3
    fake_openai.reply = f"Write to {EMAIL} now."
    events = list(client.responses.create(model="gpt-4o-mini", input="hi", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Write to [EMAIL_1] now."
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "Write to [EMAIL_1] now."
    assert EMAIL not in json.dumps([e.model_dump() for e in events])


def test_response_scope_masks_streamed_tool_call_arguments(client, fake_openai, api_key):
    rule = RuleData(
        name="city", matcher="substring", pattern="Paris", scopes=["response"], action="mask", label="city"
    )
    policy(api_key.workspace, rule)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "[[tool]] weather?"}],
            tools=tools,
            stream=True,
        )
    )
    args = "".join(
        tc.function.arguments or ""
        for c in chunks
        if c.choices
        for tc in (c.choices[0].delta.tool_calls or [])
        if tc.function
    )
    assert json.loads(args) == {"city": "[CITY_1]"}


def test_response_scope_block_ends_a_stream_with_an_error(client, fake_openai, api_key):
    policy(api_key.workspace, block_aws(scopes=("response",)))
    fake_openai.split = 4
    fake_openai.reply = f"Sure. The key is {AWS} as requested."
    received = ""
    with pytest.raises(openai.APIError) as info:
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "key?"}], stream=True
        ):
            if chunk.choices:
                received += chunk.choices[0].delta.content or ""
    assert "AKIA" not in received and received.startswith("Sure.")
    assert "Blocked by firewall rule 'no aws keys'" in info.value.message
    (row,) = wait_for_logs()
    assert row.error_type == "firewall_blocked" and AWS not in json.dumps(row.extra)


def test_workspace_without_policies_is_untouched(client, fake_openai, api_key, other_workspace):
    policy(other_workspace, block_aws(), mask_emails())
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"{EMAIL} {AWS}"}]
    )
    completion = raw.parse()
    assert fake_openai.requests[-1].body["messages"][0]["content"] == f"{EMAIL} {AWS}"
    assert "firewall" not in completion.model_extra and "x-junction-firewall" not in raw.headers


def test_policy_change_applies_to_the_next_request(client, fake_openai, api_key):
    created = policy(api_key.workspace, mask_emails())
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert fake_openai.requests[-1].body["messages"][0]["content"] == "[EMAIL_1]"
    from firewall.services import policy_delete

    policy_delete(policy=created, actor=Actor(label="test"))
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert fake_openai.requests[-1].body["messages"][0]["content"] == EMAIL


def test_embeddings_inputs_are_masked_and_blocked(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails(), block_aws())
    result = client.embeddings.create(model="text-embedding-3-small", input=[f"about {EMAIL}", "plain"])
    assert len(result.data) == 2
    assert fake_openai.requests[-1].body["input"] == ["about [EMAIL_1]", "plain"]
    assert result.model_extra["firewall"][0]["rule"] == "emails"
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="text-embedding-3-small", input=f"key {AWS}")
    assert info.value.body["type"] == "firewall_blocked" and len(fake_openai.requests) == 1


def test_prompt_hits_reach_a_stream_in_its_header_and_final_usage_chunk(client, fake_openai, api_key):
    policy(api_key.workspace, mask_emails())
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"hi {EMAIL}"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as raw:
        assert raw.headers["x-junction-firewall"].endswith("scope=prompt;action=mask;count=1")
        chunks = list(raw.parse())
    assert chunks[-1].model_extra["firewall"][0]["rule"] == "emails"
    assert fake_openai.requests[-1].body["messages"][0]["content"] == "hi [EMAIL_1]"


def test_response_scope_block_ends_a_responses_stream_with_an_error_event(client, fake_openai, api_key):
    policy(api_key.workspace, block_aws(scopes=("response",)))
    fake_openai.reply = f"Sure. The key is {AWS} as requested."
    events = []
    try:
        for event in client.responses.create(model="gpt-4o-mini", input="key?", stream=True):
            events.append(event)
    except openai.APIError as exc:  # the SDK may raise on the error event instead of yielding it
        events.append(exc)
    dumped = json.dumps([e.model_dump() if hasattr(e, "model_dump") else str(e) for e in events])
    assert "AKIA" not in dumped
    assert "Blocked by firewall rule 'no aws keys'" in dumped
    assert not any(getattr(e, "type", "") == "response.completed" for e in events)
