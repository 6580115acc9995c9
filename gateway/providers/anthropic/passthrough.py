"""Messages in, Anthropic out: the byte pass-through. The caller's body is
forwarded with the model replaced; the answer is relayed byte for byte,
except ``message_start`` (read for input usage) and ``message_delta`` (read
for the final usage, and given Junction's fields)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from gateway.canonical import CanonicalRequest
from gateway.dialects.base import AnswerFields, PassedAnswer
from gateway.providers.anthropic.request import passthrough_request
from gateway.providers.anthropic.response import merge_usage, usage_from
from gateway.providers.base import UpstreamRequest, UsageHook, read_json_answer
from gateway.sse import LazyEvent, SSEEvent, encode_event

DELTA_MARKER = b'delta"'


def passthrough_rewriter(on_usage: UsageHook) -> Callable[[SSEEvent | LazyEvent], bytes | None]:
    """Other events are never parsed: their name is checked on the raw bytes.
    ``on_usage`` returns Junction's fields for ``message_delta`` (and, in an
    ``AnswerFields``, those for its usage object)."""
    start: dict[str, Any] = {}

    def rewrite(ev: SSEEvent | LazyEvent) -> bytes | None:
        head = ev.raw[:32]
        if b"message_start" not in head and b"message_delta" not in head:
            return ev.raw
        if ev.event not in ("message_start", "message_delta"):
            return ev.raw
        try:
            data = msgspec.json.decode(ev.data)
        except msgspec.DecodeError:
            return ev.raw
        if not isinstance(data, dict):
            return ev.raw
        if ev.event == "message_start":
            message = data.get("message")
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                start.update(message["usage"])
            return ev.raw
        fields = AnswerFields.of(on_usage(usage_from(merge_usage(start, data.get("usage")))))
        data.update(fields)
        if fields.usage and isinstance(data.get("usage"), dict):
            data["usage"].update(fields.usage)
        return encode_event(msgspec.json.encode(data), event="message_delta")

    return rewrite


class _MessagesStream:
    __slots__ = ("delta_events", "rewrite")

    def __init__(self, on_usage: UsageHook) -> None:
        self.delta_events = 0
        self.rewrite = passthrough_rewriter(on_usage)

    def relay(self, blocks: list[bytes]) -> bytes:
        out = []
        for block in blocks:
            self.delta_events += DELTA_MARKER in block
            rewritten = self.rewrite(LazyEvent(block))
            if rewritten:
                out.append(rewritten)
        return b"".join(out)


class MessagesPassThrough:
    def build_request(
        self, req: CanonicalRequest, *, upstream_model: str, base_url: str, api_key: str
    ) -> UpstreamRequest:
        return passthrough_request(
            body=req.raw,
            upstream_model=upstream_model,
            base_url=base_url,
            api_key=api_key,
            headers=req.passthrough_headers,
        )

    def read_answer(self, body: bytes) -> PassedAnswer:
        return read_json_answer(body, usage_from)

    def stream(self, req: CanonicalRequest, on_usage: UsageHook) -> _MessagesStream:
        return _MessagesStream(on_usage)


MESSAGES = MessagesPassThrough()
