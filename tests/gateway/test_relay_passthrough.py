"""The same-wire stream relay: untouched events are copied, only the usage event is rewritten."""

from __future__ import annotations

import msgspec
import pytest

from gateway import relay
from gateway.canonical import Dialect
from gateway.context import CallContext
from gateway.dialects import chat
from gateway.providers import openai
from gateway.sse import SSEParser

EVENTS = [
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo \\u00e9 \\"delta\\""}}]}\n\n',
    b'data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}\n\n',
    b"data: [DONE]\n\n",
]
STREAM = b"".join(EVENTS)


def relay_all(pieces: list[bytes], *, include_usage: bool) -> tuple[bytes, CallContext]:
    ctx = CallContext(endpoint="chat.completions", dialect=chat, headers={})
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    ctx.attach(chat.decode(body, {}))
    stream = relay.stream_relay(ctx, openai.passthrough(Dialect.CHAT))
    parser = SSEParser()
    out = [relay.relay_blocks(ctx, stream, parser.feed_blocks(piece)) for piece in pieces]
    out.append(relay.relay_blocks(ctx, stream, parser.close_blocks()))
    return b"".join(out), ctx


SPLITS = {
    "whole": [STREAM],
    "per event": EVENTS,
    "3-byte pieces": [STREAM[i : i + 3] for i in range(0, len(STREAM), 3)],
}


@pytest.mark.parametrize("split", SPLITS)
def test_usage_chunk_withheld_when_not_asked_for(split):
    out, ctx = relay_all(SPLITS[split], include_usage=False)
    assert out == b"".join(e for e in EVENTS if b'"usage"' not in e)  # everything else byte for byte
    assert ctx.usage is not None and ctx.usage.output_tokens == 3
    assert ctx.output_events == 4  # events carrying a delta (each counted once)


@pytest.mark.parametrize("split", SPLITS)
def test_usage_chunk_gains_junctions_fields(split):
    out, ctx = relay_all(SPLITS[split], include_usage=True)
    head, usage_event, done = out.partition(EVENTS[3])[0], out.split(b"\n\n")[4], out.split(b"\n\n")[5]
    assert head == b"".join(EVENTS[:3])
    usage = msgspec.json.decode(usage_event.removeprefix(b"data: "))
    assert usage["usage"]["completion_tokens"] == 3 and usage["x_request_id"] == ctx.request_id
    assert done == b"data: [DONE]"
