"""Anthropic's ``stop_sequence`` survives translation (the canonical answer and
its Finish event carry it), JSON and streamed, through the Anthropic SDK."""

from __future__ import annotations

import pytest

from gateway import pipeline

pytestmark = pytest.mark.django_db(transaction=True)

ASK = [{"role": "user", "content": "[[stop]] count"}]


@pytest.mark.parametrize("translated", [False, True])
def test_stop_sequence_reaches_the_client(claude, fake_anthropic, monkeypatch, translated):
    if translated:
        monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    message = claude.messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=ASK, stop_sequences=["END", "STOP"]
    )
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "END")
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=64, messages=ASK, stop_sequences=["END"]
    ) as stream:
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")
    assert fake_anthropic.requests[-1].body["stop_sequences"] == ["END"]


def test_no_stop_sequence_is_null(claude, fake_anthropic, monkeypatch):
    monkeypatch.setattr(pipeline, "same_wire", lambda kind, dialect: False)
    message = claude.messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
