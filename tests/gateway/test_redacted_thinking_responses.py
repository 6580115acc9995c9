"""Anthropic's redacted thinking survives a Responses round trip: the reasoning
item's ``encrypted_content`` carries it, and sent back it reaches Anthropic as
a ``redacted_thinking`` block again (not as a signed ``thinking`` block)."""

from __future__ import annotations

import pytest

from tests.fakes.anthropic_upstream import REDACTED_DATA

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("stream", [False, True])
def test_redacted_thinking_round_trips_through_responses(client, fake_anthropic, stream):
    ask = {"model": "claude-haiku-4-5", "input": "[[redacted]] hi", "reasoning": {"effort": "low"}}
    if stream:
        events = list(client.responses.create(**ask, stream=True))
        first = events[-1].response
    else:
        first = client.responses.create(**ask)
    (reasoning,) = [item for item in first.output if item.type == "reasoning"]
    assert reasoning.encrypted_content == f"junction:anthropic+redacted:{REDACTED_DATA}"
    client.responses.create(
        model="claude-haiku-4-5",
        input=[
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"role": "user", "content": "again"},
        ],
        reasoning={"effort": "low"},
    )
    sent = fake_anthropic.requests[-1].body["messages"]
    assistant = next(m for m in sent if m["role"] == "assistant")
    assert {"type": "redacted_thinking", "data": REDACTED_DATA} in assistant["content"]
    assert not any(b.get("type") == "thinking" for b in assistant["content"])
