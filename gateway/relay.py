"""Relay: an upstream answer -> the caller's bytes.

Same-wire answers pass through byte for byte: the provider's ``PassThrough``
parses only the usage-bearing part and writes Junction's fields into it.
Others go provider decoder -> the stages' ``on_events`` / ``on_answer`` ->
the caller's dialect encoder. The stages (``ctx.stages``) are asked at
these fixed points only; the bytes are the dialect's and the provider's. A
JSON answer's call is ended by the pipeline; a stream ends its call
(``CallContext.finish()``) when its last byte is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from gateway import hosted_images
from gateway.canonical import Event, StreamError, Usage, UsageEvent
from gateway.context import CallContext
from gateway.dialects.base import AnswerFields
from gateway.errors import ErrorType, GatewayError
from gateway.http import UpstreamFailure, UpstreamResponse, UpstreamTimeout, UpstreamTooLarge
from gateway.providers.base import PassThrough, Provider, StreamRelay, UpstreamRequest
from gateway.sse import SSEParser

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
    provider: Provider
    passthrough: PassThrough | None  # same wire both sides: relay bytes, parse only usage


def add_headers(response: HttpResponseBase, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        response[name] = value


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
    if plan.passthrough is not None:
        out = passthrough_json(ctx, plan.passthrough, body)
    else:
        try:
            canonical = plan.provider.parse_response(body)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise GatewayError(
                ErrorType.UPSTREAM,
                f"Upstream provider '{ctx.provider}' sent an unreadable answer.",
                provider=ctx.provider,
            ) from None
        ctx.usage = canonical.usage
        await hosted_images.store_answer(ctx, canonical)  # image_generation results -> stored, linked
        for stage in ctx.stages:
            canonical = stage.on_answer(ctx, canonical)
        translator = ctx.dialect.TRANSLATOR
        assert translator is not None  # plan_attempt refuses translation into such a dialect
        out = translator.encode_response(canonical, ctx.answer_fields(), request=ctx.request)
    ctx.mark_first_byte()
    response = HttpResponse(out, content_type="application/json")
    response["x-request-id"] = ctx.request_id
    add_headers(response, ctx.answer_headers())  # x-junction-cost, rate limits, firewall
    return response


def passthrough_json(ctx: CallContext, passthrough: PassThrough, body: bytes) -> bytes:
    try:
        answer = passthrough.read_answer(body)
    except ValueError:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Upstream provider '{ctx.provider}' sent invalid JSON.",
            provider=ctx.provider,
        ) from None
    ctx.usage = answer.usage
    for stage in ctx.stages:
        stage.on_passed_answer(ctx, answer)  # the firewall's response scope may edit it
    return ctx.dialect.annotate(answer, ctx.answer_fields())


def relay_stream(ctx: CallContext, resp: UpstreamResponse, plan: Plan) -> RelayStream:
    assert ctx.request is not None
    chunks = (
        _relay_events(ctx, resp, stream_relay(ctx, plan.passthrough))
        if plan.passthrough is not None
        else _translate_events(ctx, resp, plan)
    )
    response = RelayStream(chunks)
    response["x-request-id"] = ctx.request_id
    add_headers(response, ctx.answer_headers())  # rate limits, firewall
    for name, value in SSE_HEADERS.items():
        response[name] = value
    return response


def _on_usage(ctx: CallContext) -> Callable[[Usage], AnswerFields]:
    def on_usage(usage: Usage) -> AnswerFields:
        ctx.usage = usage
        return ctx.answer_fields()

    return on_usage


def _mid_stream_error(ctx: CallContext, exc: Exception) -> GatewayError:
    kind = ErrorType.TIMEOUT if isinstance(exc, UpstreamTimeout) else ErrorType.UPSTREAM
    err = GatewayError(kind, f"Upstream provider '{ctx.provider}' failed mid-stream.", provider=ctx.provider)
    ctx.fail(err, status=200)
    return err


def stream_relay(ctx: CallContext, passthrough: PassThrough) -> StreamRelay:
    """The provider's relay for this same-wire stream."""
    assert ctx.request is not None
    return passthrough.stream(ctx.request, _on_usage(ctx))


def relay_blocks(ctx: CallContext, stream: StreamRelay, blocks: list[bytes]) -> bytes:
    """The bytes to send for these complete events."""
    out = stream.relay(blocks)
    ctx.output_events = stream.delta_events  # billing: the estimate if the stream is cut
    return out


async def _relay_events(
    ctx: CallContext, resp: UpstreamResponse, stream: StreamRelay
) -> AsyncGenerator[bytes, None]:
    """Same wire: the provider's stream relay passes each complete event on,
    rewriting only the one that carries usage."""
    parser = SSEParser()
    read = resp.read_any
    try:
        while chunk := await read():
            out = relay_blocks(ctx, stream, parser.feed_blocks(chunk))
            if out:
                ctx.mark_first_byte()
                yield out
        tail = relay_blocks(ctx, stream, parser.close_blocks())
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


async def _translate_events(
    ctx: CallContext, resp: UpstreamResponse, plan: Plan
) -> AsyncGenerator[bytes, None]:
    """Provider stream -> canonical events -> (filters) -> the caller's dialect."""
    assert ctx.request is not None
    decoder = plan.provider.StreamDecoder()
    translator = ctx.dialect.TRANSLATOR
    assert translator is not None  # plan_attempt refuses translation into such a dialect
    encoder = translator.stream_encoder(
        request=ctx.request, finalize=_on_usage(ctx), request_id=ctx.request_id
    )

    def encode(events: list[Event]) -> bytes:
        for stage in ctx.stages:
            events = stage.on_events(ctx, events)
        out = []
        for event in events:
            if isinstance(event, UsageEvent):
                ctx.usage = event.usage
            elif isinstance(event, StreamError):
                ctx.fail(event.error, status=200)
            out.append(encoder.encode(event))
        return b"".join(out)

    try:
        async for chunk in resp.aiter_bytes():
            events = decoder.feed(chunk)
            await hosted_images.store_events(ctx, events)  # image_generation results -> stored, linked
            out = encode(events)
            if out:
                ctx.mark_first_byte()
                yield out
        events = decoder.close()
        await hosted_images.store_events(ctx, events)
        tail = encode(events) + encoder.finish()
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
