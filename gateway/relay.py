"""Relay: an upstream answer -> the caller's bytes.

Same-wire answers pass through byte for byte (only the usage-bearing part is
parsed and gains Junction's fields); others go provider decoder -> the
stages' event filters -> the caller's dialect encoder. Every path ends in
``CallContext.finish()`` exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import msgspec
from django.http import HttpResponse, StreamingHttpResponse

from billing import stages as billing
from firewall import hooks as firewall
from gateway.canonical import Dialect, Event, StreamError, Usage, UsageEvent
from gateway.context import CallContext
from gateway.errors import ErrorType, GatewayError
from gateway.http import UpstreamFailure, UpstreamResponse, UpstreamTimeout, UpstreamTooLarge
from gateway.providers import anthropic as anthropic_wire
from gateway.providers import openai as openai_wire
from gateway.providers.base import UpstreamRequest
from gateway.sse import LazyEvent, SSEParser

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class RelayStream(StreamingHttpResponse):
    """A relayed stream. Served by ``gateway.asgi.ApiASGIHandler``, each chunk
    the relay yields goes to ASGI ``send`` as one ``http.response.body``
    (``stream_to``); served by any other handler, it is an ordinary
    ``StreamingHttpResponse`` over the same chunks."""

    def __init__(self, chunks: AsyncGenerator[bytes, None]) -> None:
        super().__init__(chunks, content_type="text/event-stream")
        self.chunks = chunks

    async def stream_to(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        chunks = self.chunks
        try:
            async for chunk in chunks:
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except asyncio.CancelledError:
                    # The client left while a chunk was being written: the relay
                    # learns it as it would while waiting for the upstream.
                    await chunks.athrow(asyncio.CancelledError())
                    raise
        finally:
            await chunks.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass(slots=True)
class Plan:
    """How one attempt talks to its upstream."""

    upstream: UpstreamRequest
    adapter: ModuleType  # the provider module: map_error, parse_response, StreamDecoder
    passthrough: bool  # same wire both sides: relay bytes, parse only usage


def response_extras(ctx: CallContext) -> dict[str, Any]:
    extras = {"x_request_id": ctx.request_id, "provider": ctx.provider, "latency_ms": ctx.elapsed_ms()}
    if "routing_mode" in ctx.extra:  # which auto mode chose the deployment
        extras["routing_mode"] = ctx.extra["routing_mode"]
    extras.update(firewall.extras(ctx))
    return extras | billing.response_extras(ctx)  # billing: "cost" (charged, USD)


def add_headers(response: HttpResponse, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        response[name] = value


def splice_fields(body: bytes, fields: dict[str, Any]) -> bytes:
    """Add top-level fields to a JSON object without re-encoding it."""
    start = body.find(b"{")
    if start < 0:
        return body
    encoded = msgspec.json.encode(fields)[1:-1]
    rest = body[start + 1 :].lstrip()
    sep = b"" if rest.startswith(b"}") else b","
    return body[: start + 1] + encoded + sep + rest


async def relay_json(ctx: CallContext, resp: UpstreamResponse, plan: Plan) -> HttpResponse:
    assert ctx.request is not None
    try:
        body = await resp.aread()
    except UpstreamTimeout:
        raise GatewayError(
            ErrorType.TIMEOUT,
            f"Upstream provider '{ctx.provider}' timed out.",
            provider=ctx.provider,
            code="upstream_timeout",
            retryable=True,
        ) from None
    except UpstreamTooLarge as exc:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Upstream provider '{ctx.provider}': {exc}.",
            provider=ctx.provider,
            code="upstream_response_too_large",
        ) from None
    except UpstreamFailure:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Upstream provider '{ctx.provider}' broke the connection.",
            provider=ctx.provider,
            code="upstream_unreachable",
            retryable=True,
        ) from None
    finally:
        await resp.aclose()
    if plan.passthrough:
        out = passthrough_json(ctx, body)
    else:
        try:
            canonical = plan.adapter.parse_response(body)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise GatewayError(
                ErrorType.UPSTREAM,
                f"Upstream provider '{ctx.provider}' sent an unreadable answer.",
                provider=ctx.provider,
            ) from None
        ctx.usage = canonical.usage
        for transform in ctx.response_transforms:
            canonical = transform(canonical)
        out = ctx.dialect.encode_response(canonical, response_extras(ctx))
        out = billing.splice_usage(out, billing.usage_extras(ctx))  # usage.cost (true cost, USD)
    ctx.mark_first_byte()
    response = HttpResponse(out, content_type="application/json")
    response["x-request-id"] = ctx.request_id
    add_headers(response, billing.response_headers(ctx))  # billing: x-junction-cost, rate limits
    firewall.set_header(ctx, response)
    ctx.finish()
    return response


def passthrough_json(ctx: CallContext, body: bytes) -> bytes:
    assert ctx.request is not None
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Upstream provider '{ctx.provider}' sent invalid JSON.",
            provider=ctx.provider,
        ) from None
    raw_usage = decoded.get("usage") if isinstance(decoded, dict) else None
    if ctx.request.dialect is Dialect.MESSAGES:
        ctx.usage = anthropic_wire.usage_from(raw_usage)
    else:
        ctx.usage = openai_wire.USAGE_PARSERS[ctx.request.dialect](raw_usage)
    body = firewall.screen_json_body(ctx, body, decoded)  # response scope
    return billing.splice_usage(splice_fields(body, response_extras(ctx)), billing.usage_extras(ctx))


def relay_stream(ctx: CallContext, resp: UpstreamResponse, plan: Plan) -> RelayStream:
    assert ctx.request is not None
    chunks = (
        _relay_events(ctx, resp, *stream_rewriter(ctx))
        if plan.passthrough
        else _translate_events(ctx, resp, plan)
    )
    response = RelayStream(chunks)
    response["x-request-id"] = ctx.request_id
    add_headers(response, billing.response_headers(ctx))  # billing: rate-limit headers
    firewall.set_header(ctx, response)
    for name, value in SSE_HEADERS.items():
        response[name] = value
    return response


# A same-wire event without this marker passes through as it came: the relay
# counts it and copies its bytes without making an event of it.
USAGE_MARKER = b'"usage"'


def stream_rewriter(ctx: CallContext) -> tuple[Callable[[LazyEvent], bytes | None], bytes | None]:
    """Same-wire streams pass through byte for byte, except the event that
    carries usage: it is parsed for accounting and gains Junction's fields.

    Returns the rewrite and its marker: with a marker, only events containing
    it go through the rewrite (the relay counts every event's delta itself);
    without one (messages: billing's wrapper counts), every event does."""
    assert ctx.request is not None
    dialect = ctx.request.dialect
    client_wants_usage = ctx.request.include_usage
    if dialect is Dialect.MESSAGES:

        def on_usage(usage: Usage) -> dict[str, Any]:
            ctx.usage = usage
            billing.mark_final_event(ctx)  # billing: this event also gets usage.cost
            return response_extras(ctx)

        return billing.metered(ctx, anthropic_wire.passthrough_rewriter(on_usage)), None

    def rewrite(ev: LazyEvent) -> bytes | None:
        if ev.data == "[DONE]":
            return ev.raw
        try:
            data = msgspec.json.decode(ev.data)
        except msgspec.DecodeError:
            return ev.raw
        if not isinstance(data, dict):
            return ev.raw
        if dialect is Dialect.CHAT:
            usage = openai_wire.usage_from_chat(data.get("usage"))
            if usage is None:
                return ev.raw
            ctx.usage = usage
            if not client_wants_usage and not data.get("choices"):
                return None  # Junction asked for this chunk; the client did not.
            billing.add_usage_fields(ctx, data["usage"])  # usage.cost (true cost, USD)
            data.update(response_extras(ctx))
            return b"data: " + msgspec.json.encode(data) + b"\n\n"
        inner = data.get("response")
        if not isinstance(inner, dict):
            return ev.raw
        usage = openai_wire.usage_from_responses(inner.get("usage"))
        if usage is None:
            return ev.raw
        ctx.usage = usage
        billing.add_usage_fields(ctx, inner["usage"])  # usage.cost (true cost, USD)
        inner.update(response_extras(ctx))
        head = f"event: {ev.event}\n".encode() if ev.event else b""
        return head + b"data: " + msgspec.json.encode(data) + b"\n\n"

    return rewrite, USAGE_MARKER


def _mid_stream_error(ctx: CallContext, exc: Exception) -> GatewayError:
    kind = ErrorType.TIMEOUT if isinstance(exc, UpstreamTimeout) else ErrorType.UPSTREAM
    err = GatewayError(kind, f"Upstream provider '{ctx.provider}' failed mid-stream.", provider=ctx.provider)
    ctx.fail(err, status=200)
    return err


async def _relay_events(
    ctx: CallContext,
    resp: UpstreamResponse,
    rewrite: Callable[[LazyEvent], bytes | None],
    marker: bytes | None = None,
) -> AsyncGenerator[bytes, None]:
    parser = SSEParser()
    read = resp.read_any
    try:
        while chunk := await read():
            out = _relay_blocks(ctx, parser.feed_blocks(chunk), rewrite, marker)
            if out:
                ctx.mark_first_byte()
                yield out
        tail = _relay_blocks(ctx, parser.close_blocks(), rewrite, marker)
        if tail:
            yield tail
    except UpstreamFailure as exc:
        yield ctx.dialect.encode_stream_error(_mid_stream_error(ctx, exc), ctx.request_id)
    except asyncio.CancelledError:
        ctx.client_disconnected()
        raise
    finally:
        await resp.aclose()
        ctx.finish()


def _relay_blocks(
    ctx: CallContext, blocks: list[bytes], rewrite: Callable[[LazyEvent], bytes | None], marker: bytes | None
) -> bytes:
    """The bytes to send for these complete events."""
    if marker is None:
        return b"".join([b for b in map(rewrite, map(LazyEvent, blocks)) if b])
    out = []
    for block in blocks:
        ctx.output_events += b'delta"' in block  # billing: the estimate if the stream is cut
        if marker in block:
            rewritten = rewrite(LazyEvent(block))
            if rewritten:
                out.append(rewritten)
        else:
            out.append(block)
    return b"".join(out)


async def _translate_events(
    ctx: CallContext, resp: UpstreamResponse, plan: Plan
) -> AsyncGenerator[bytes, None]:
    """Provider stream -> canonical events -> (filters) -> the caller's dialect."""
    assert ctx.request is not None
    decoder = plan.adapter.StreamDecoder()

    def finalize(usage: Usage) -> dict[str, Any]:
        ctx.usage = usage
        billing.mark_final_event(ctx)  # billing: the bytes being built get usage.cost
        return response_extras(ctx)

    encoder = ctx.dialect.StreamEncoder(request=ctx.request, finalize=finalize, request_id=ctx.request_id)

    def encode(events: list[Event]) -> bytes:
        for event_filter in ctx.event_filters:
            events = event_filter(events)
        out = []
        for event in events:
            if isinstance(event, UsageEvent):
                ctx.usage = event.usage
            elif isinstance(event, StreamError):
                ctx.fail(event.error, status=200)
            out.append(encoder.encode(event))
        return billing.splice_final_usage(ctx, b"".join(out))

    try:
        async for chunk in resp.aiter_bytes():
            out = encode(decoder.feed(chunk))
            if out:
                ctx.mark_first_byte()
                yield out
        tail = billing.splice_final_usage(ctx, encode(decoder.close()) + encoder.finish())
        if tail:
            ctx.mark_first_byte()
            yield tail
    except UpstreamFailure as exc:
        yield encoder.encode(StreamError(_mid_stream_error(ctx, exc)))
    except asyncio.CancelledError:
        ctx.client_disconnected()
        raise
    finally:
        await resp.aclose()
        ctx.finish()
