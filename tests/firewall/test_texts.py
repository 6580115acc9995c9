"""Where the firewall finds texts: every dialect's request body, the canonical
request beside it, and answers."""

from __future__ import annotations

import json

import pytest

from firewall.engine import Action, Blocked, Detector, Scope
from firewall.engine.texts import process_answer, process_answer_body, process_request
from gateway.canonical import (
    CanonicalRequest,
    CanonicalResponse,
    Dialect,
    FunctionCall,
    FunctionCallOutput,
    Message,
    Reasoning,
    Role,
    TextPart,
    TokenLogprob,
)
from gateway.dialects import chat, responses
from tests.firewall.helpers import rule, session

EMAIL = "jane@example.com"


def masker(scopes=frozenset(Scope), action=Action.MASK):
    return session(rule(detector=Detector.EMAIL, scopes=scopes, action=action))


def _request(dialect: str, raw: dict) -> CanonicalRequest:
    req = CanonicalRequest(dialect=Dialect.CHAT, model="m", raw=raw)
    req.dialect = dialect  # type: ignore[assignment]  # dialects that have no decoder yet
    return req


@pytest.mark.parametrize(
    ("dialect", "raw"),
    [
        ("embeddings", {"model": "e", "input": [EMAIL, f"x {EMAIL}", [1, 2, 3]]}),
        ("embeddings", {"model": "e", "input": f"about {EMAIL}"}),
        ("images", {"model": "i", "prompt": f"a poster for {EMAIL}"}),
        (
            "messages",
            {
                "model": "c",
                "system": [{"type": "text", "text": f"owner {EMAIL}"}],
                "messages": [
                    {"role": "user", "content": f"hi {EMAIL}"},
                    {"role": "assistant", "content": [
                        {"type": "tool_use", "id": "t1", "name": "mail", "input": {"to": [EMAIL]}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": EMAIL}]}
                    ]},
                ],
            },
        ),
    ],
)  # fmt: skip
def test_prompt_texts_of_every_dialect_are_masked(dialect, raw):
    s = masker()
    req = _request(dialect, raw)
    process_request(s, req)
    dumped = json.dumps(req.raw)
    assert EMAIL not in dumped and "[EMAIL_1]" in dumped
    assert "model" in req.raw and req.raw["model"] in ("e", "i", "c")


def test_chat_request_raw_and_canonical_are_masked_alike_and_counted_once():
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": f"to {EMAIL}"}]},
            {"role": "assistant", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": f'{{"a": "{EMAIL}"}}'}}
            ]},
            {"role": "tool", "tool_call_id": "c", "content": f"sent to {EMAIL}"},
        ],
        "metadata": {"who": EMAIL},
        "user": EMAIL,
    }  # fmt: skip
    req = chat.decode(body, {})
    s = masker()
    process_request(s, req)
    assert EMAIL not in json.dumps(req.raw)
    msg, call, output = req.items
    assert isinstance(msg, Message) and msg.content[0].text == "to [EMAIL_1]"
    assert isinstance(call, FunctionCall) and call.arguments == '{"a": "[EMAIL_1]"}'
    assert isinstance(output, FunctionCallOutput) and output.output == "sent to [EMAIL_1]"
    assert req.metadata == {"who": "[EMAIL_1]"} and req.user == "[EMAIL_1]"
    counts = {r["scope"]: r["count"] for r in s.records()}
    assert counts == {"prompt": 3, "metadata": 2}


def test_responses_request_items_are_masked():
    body = {
        "model": "m",
        "instructions": f"sign {EMAIL}",
        "input": [
            {"role": "user", "content": f"hi {EMAIL}"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": f'"{EMAIL}"'},
            {"type": "function_call_output", "call_id": "c", "output": EMAIL},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": f"asked {EMAIL}"}]},
        ],
    }
    req = responses.decode(body, {})
    process_request(masker(), req)
    assert EMAIL not in json.dumps(req.raw)
    assert req.instructions == "sign [EMAIL_1]"
    assert isinstance(req.items[3], Reasoning) and req.items[3].summary == ["asked [EMAIL_1]"]


def test_prompt_block_raises_before_anything_is_sent():
    req = chat.decode({"model": "m", "messages": [{"role": "user", "content": EMAIL}]}, {})
    with pytest.raises(Blocked):
        process_request(masker(action=Action.BLOCK), req)


def test_answer_bodies_are_masked_in_place():
    s = masker()
    chat_body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": EMAIL, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": f'{{"to": "{EMAIL}"}}'}}]}}]}  # fmt: skip
    assert process_answer_body(s, "chat", chat_body)
    assert EMAIL not in json.dumps(chat_body)
    resp_body = {"output": [{"type": "message", "content": [{"type": "output_text", "text": f"x {EMAIL}"}]}]}
    assert process_answer_body(s, "responses", resp_body)
    assert resp_body["output"][0]["content"][0]["text"] == "x [EMAIL_1]"
    assert not process_answer_body(s, "responses", {"output": [{"type": "message", "content": []}]})


def test_canonical_answer_is_masked():
    resp = CanonicalResponse(
        id="r",
        model="m",
        output=[
            Message(role=Role.ASSISTANT, content=[TextPart(f"mail {EMAIL}")]),
            FunctionCall(call_id="c", name="f", arguments=EMAIL),
        ],
    )
    out = process_answer(masker(), resp)
    assert out.output[0].content[0].text == "mail [EMAIL_1]" and out.output[1].arguments == "[EMAIL_1]"


def test_anthropic_answer_body_is_masked_in_place():
    s = masker()
    body = {
        "type": "message",
        "content": [
            {"type": "text", "text": f"write to {EMAIL}"},
            {"type": "tool_use", "id": "t", "name": "mail", "input": {"to": EMAIL, "cc": [EMAIL]}},
        ],
    }
    assert process_answer_body(s, "messages", body)
    assert EMAIL not in json.dumps(body) and body["content"][1]["input"]["cc"] == ["[EMAIL_1]"]


def test_a_masked_answer_loses_its_token_log_probabilities():
    """They spell out the original text: once it is masked they would leak it."""
    tokens = [TokenLogprob(token=EMAIL, logprob=-0.1, bytes=list(EMAIL.encode()))]
    resp = CanonicalResponse(
        id="r",
        model="m",
        output=[Message(role=Role.ASSISTANT, content=[TextPart(f"x {EMAIL}", logprobs=tokens)])],
    )
    assert process_answer(masker(), resp).output[0].content[0].logprobs is None
    kept = CanonicalResponse(
        id="r", model="m", output=[Message(role=Role.ASSISTANT, content=[TextPart("x", logprobs=tokens)])]
    )
    assert process_answer(masker(), kept).output[0].content[0].logprobs == tokens
    wire = [{"token": EMAIL, "logprob": -0.1, "bytes": list(EMAIL.encode()), "top_logprobs": []}]
    chat_body = {"choices": [{"message": {"content": EMAIL}, "logprobs": {"content": wire, "refusal": None}}]}
    assert process_answer_body(masker(), "chat", chat_body)
    assert EMAIL not in json.dumps(chat_body) and chat_body["choices"][0]["logprobs"] is None
    part = {"type": "output_text", "text": EMAIL, "logprobs": wire}
    assert process_answer_body(masker(), "responses", {"output": [{"type": "message", "content": [part]}]})
    assert EMAIL not in json.dumps(part) and part["logprobs"] == []
