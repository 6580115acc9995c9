"""The OpenAI wire's byte pass-through: a chat, responses or embeddings caller
served by an upstream that speaks that same wire. The caller's body is
forwarded with minimal edits (model name, stream usage, ``store``) and the
answer relayed byte for byte; only the event carrying usage is parsed, to
read it and to add Junction's fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from gateway.canonical import CanonicalRequest, Dialect, Usage
from gateway.dialects.base import AnswerFields, PassedAnswer
from gateway.providers.base import PassThrough, UpstreamRequest, UsageHook, read_json_answer
from gateway.providers.openai.wire import (
    PATHS,
    auth_headers,
    count_chat_search,
    count_hosted_calls,
    usage_from_chat,
    usage_from_responses,
)
from gateway.sse import LazyEvent

# Body fields that are Junction's own and never reach an upstream.
JUNCTION_FIELDS = ("router_mode",)
# A same-wire event without this marker passes through as it came: it is
# counted and copied without being made into an event object.
USAGE_MARKER = b'"usage"'
DELTA_MARKER = b'delta"'


def passthrough_request(
    *, dialect: Dialect, body: dict[str, Any], upstream_model: str, base_url: str, api_key: str, stream: bool
) -> UpstreamRequest:
    out = {k: val for k, val in body.items() if k not in JUNCTION_FIELDS}
    out["model"] = upstream_model
    if dialect is Dialect.CHAT and stream:
        # Usage is what billing needs; ask for it even when the client did not
        # (the relay then withholds the usage-only chunk from that client).
        out["stream_options"] = {**(out.get("stream_options") or {}), "include_usage": True}
    if dialect is Dialect.RESPONSES:
        out["store"] = False
    return UpstreamRequest(
        url=base_url + PATHS[dialect],
        body=msgspec.json.encode(out),
        headers=auth_headers(api_key),
        stream=stream,
    )


class MarkedStream:
    """Counts delta events; hands the events holding ``"usage"`` to ``rewrite``."""

    __slots__ = ("delta_events", "rewrite")

    def __init__(self, rewrite: Callable[[LazyEvent], bytes | None]) -> None:
        self.delta_events = 0
        self.rewrite = rewrite

    def relay(self, blocks: list[bytes]) -> bytes:
        out = []
        for block in blocks:
            self.delta_events += DELTA_MARKER in block
            if USAGE_MARKER in block:
                rewritten = self.rewrite(LazyEvent(block))
                if rewritten:
                    out.append(rewritten)
            else:
                out.append(block)
        return b"".join(out)


def _json_event(ev: LazyEvent) -> dict[str, Any] | None:
    if ev.data == "[DONE]":
        return None
    try:
        data = msgspec.json.decode(ev.data)
    except msgspec.DecodeError:
        return None
    return data if isinstance(data, dict) else None


class OpenAIPassThrough:
    """One OpenAI-wire dialect (chat, responses or embeddings) served as is."""

    def __init__(self, dialect: Dialect, usage_from: Callable[[Any], Usage | None]) -> None:
        self.dialect = dialect
        self.usage_from = usage_from

    def build_request(
        self, req: CanonicalRequest, *, upstream_model: str, base_url: str, api_key: str
    ) -> UpstreamRequest:
        return passthrough_request(
            dialect=self.dialect,
            body=req.raw,
            upstream_model=upstream_model,
            base_url=base_url,
            api_key=api_key,
            stream=req.stream,
        )

    def read_answer(self, body: bytes) -> PassedAnswer:
        answer = read_json_answer(body, self.usage_from)
        if (
            self.dialect is Dialect.RESPONSES
            and answer.usage is not None
            and isinstance(answer.decoded, dict)
        ):
            count_hosted_calls(answer.usage, answer.decoded.get("output"))  # billed per search / image
        return answer

    def stream(self, req: CanonicalRequest, on_usage: UsageHook) -> MarkedStream:
        if self.dialect is Dialect.RESPONSES:
            return MarkedStream(_responses_rewriter(on_usage))

        def on_chat_usage(usage: Usage) -> Mapping[str, Any]:
            return on_usage(count_chat_search(req, usage))  # billed per search

        return MarkedStream(_chat_rewriter(on_chat_usage, client_wants_usage=req.include_usage))


def _chat_rewriter(on_usage: UsageHook, *, client_wants_usage: bool) -> Callable[[LazyEvent], bytes | None]:
    def rewrite(ev: LazyEvent) -> bytes | None:
        data = _json_event(ev)
        usage = usage_from_chat(data.get("usage")) if data is not None else None
        if data is None or usage is None:
            return ev.raw
        fields = AnswerFields.of(on_usage(usage))
        if not client_wants_usage and not data.get("choices"):
            return None  # Junction asked for this chunk; the client did not.
        data["usage"].update(fields.usage)
        data.update(fields)
        return b"data: " + msgspec.json.encode(data) + b"\n\n"

    return rewrite


def _responses_rewriter(on_usage: UsageHook) -> Callable[[LazyEvent], bytes | None]:
    def rewrite(ev: LazyEvent) -> bytes | None:
        data = _json_event(ev)
        inner = data.get("response") if data is not None else None
        if data is None or not isinstance(inner, dict):
            return ev.raw
        usage = usage_from_responses(inner.get("usage"))
        if usage is None:
            return ev.raw
        count_hosted_calls(usage, inner.get("output"))  # billed per search / image
        fields = AnswerFields.of(on_usage(usage))
        inner["usage"].update(fields.usage)
        inner.update(fields)
        head = f"event: {ev.event}\n".encode() if ev.event else b""
        return head + b"data: " + msgspec.json.encode(data) + b"\n\n"

    return rewrite


CHAT: PassThrough = OpenAIPassThrough(Dialect.CHAT, usage_from_chat)
RESPONSES: PassThrough = OpenAIPassThrough(Dialect.RESPONSES, usage_from_responses)
EMBEDDINGS: PassThrough = OpenAIPassThrough(
    Dialect.EMBEDDINGS, usage_from_chat
)  # {"prompt_tokens", "total_tokens"}
