"""The /v1 request pipeline: the one place that runs the stages in order.

authenticate -> decode -> route -> dispatch (with fallback) -> relay -> log.
Each stage is a plain function with its inputs and outputs in its signature;
later stages (limit, firewall, reserve, settle) slot in here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import msgspec
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from billing import idempotency
from billing import stages as billing
from firewall import hooks as firewall
from gateway.auth import authenticate, bearer_token
from gateway.canonical import Dialect, Event, StreamError, Usage, UsageEvent
from gateway.catalog.snapshot import DeploymentInfo, get_catalog, provider_credentials
from gateway.context import CallContext
from gateway.errors import ErrorType, GatewayError, invalid_request
from gateway.http import UpstreamFailure, UpstreamResponse, UpstreamTimeout, upstream_post
from gateway.providers import anthropic as anthropic_wire
from gateway.providers import openai as openai_wire
from gateway.providers import provider_adapter
from gateway.providers.base import UpstreamRequest
from gateway.sse import LazyEvent, SSEParser
from routing_rules.router import ROUTE_HEADER
from routing_rules.stage import Attempt, attempt_begin, attempt_failed, attempt_ok, route_call

logger = logging.getLogger("junction.pipeline")

MAX_ATTEMPTS = 3
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def request_headers(request: HttpRequest) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def new_context(request: HttpRequest, *, endpoint: str, dialect: ModuleType) -> CallContext:
    return CallContext(
        endpoint=endpoint,
        dialect=dialect,
        headers=request_headers(request),
        client_ip=request.META.get("REMOTE_ADDR"),
    )


def parse_json_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise invalid_request("The request body is empty; expected a JSON object.", code="invalid_json")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise invalid_request(f"The request body is not valid JSON: {exc}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.", code="invalid_json")
    return body


def error_response(ctx: CallContext, err: GatewayError) -> HttpResponse:
    ctx.fail(err)
    ctx.finish()
    response = HttpResponse(
        ctx.dialect.encode_error(err, ctx.request_id), status=err.status, content_type="application/json"
    )
    response["x-request-id"] = ctx.request_id
    add_headers(response, billing.response_headers(ctx))  # billing: rate-limit headers
    if err.retry_after:
        response["retry-after"] = err.retry_after
    for name, value in err.headers.items():
        response[name] = value
    return response


# ------------------------------------------------------------------ entry


async def model_call(request: HttpRequest, *, dialect: ModuleType, endpoint: str) -> HttpResponse:
    ctx = new_context(request, endpoint=endpoint, dialect=dialect)
    try:
        # Anthropic's SDK sends its key as ``x-api-key``.
        allow_x_api_key = dialect.DIALECT is Dialect.MESSAGES
        ctx.principal = await authenticate(bearer_token(ctx.headers, allow_x_api_key=allow_x_api_key))
        body = parse_json_body(request.body)
        creq = dialect.decode(body, ctx.headers)
        ctx.attach(creq)
        if (replay := await idempotency.begin(ctx, request.body)) is not None:  # billing: Idempotency-Key
            return replay
        await billing.limit(ctx, body_size=len(request.body))  # billing: rate limits (429)
        await firewall.screen_request(ctx)  # prompt + metadata scopes; arms the response scope
        catalog = await get_catalog()
        routed = await route_call(ctx, creq, catalog)
        await billing.reserve(ctx, routed.attempts[:MAX_ATTEMPTS])  # billing: hold the worst case (402)
        response = await dispatch(ctx, routed.attempts)
        response[ROUTE_HEADER] = routed.decision.header
        return await idempotency.store(ctx, response)  # billing: keep the answer for Idempotency-Key
    except GatewayError as err:
        return error_response(ctx, err)
    except asyncio.CancelledError:  # the client went away before the answer: log (and settle) anyway
        ctx.client_disconnected()
        ctx.finish()
        raise
    except Exception:
        logger.exception("unhandled error in %s (%s)", endpoint, ctx.request_id)
        return error_response(ctx, GatewayError(ErrorType.INTERNAL, "Junction failed to handle the request."))


# --------------------------------------------------------------- dispatch


async def dispatch(ctx: CallContext, candidates: list[Attempt]) -> HttpResponse:
    """Try candidates in order; fall back on a retryable failure that happened
    before any byte reached the client."""
    attempts: list[dict[str, Any]] = []
    ctx.extra["attempts"] = attempts
    last: GatewayError | None = None
    for index, attempt in enumerate(candidates[:MAX_ATTEMPTS]):
        deployment = attempt.deployment
        ctx.provider = deployment.provider.slug
        ctx.model_used = deployment.model.model_id
        started = await attempt_begin(ctx, attempt, index)
        try:
            response = await send(ctx, deployment, plan_attempt(ctx, deployment))
            attempts.append(attempt_ok(ctx, attempt, started))
            return response
        except GatewayError as err:
            attempts.append(attempt_failed(ctx, attempt, started, err))
            last = err
            if not err.retryable:
                break
    assert last is not None
    raise last


@dataclass(slots=True)
class Plan:
    """How one attempt talks to its upstream."""

    upstream: UpstreamRequest
    adapter: ModuleType  # the provider module: map_error, parse_response, StreamDecoder
    passthrough: bool  # same wire both sides: relay bytes, parse only usage


def same_wire(kind: str, dialect: Dialect) -> bool:
    return (
        (kind == "openai" and dialect in (Dialect.CHAT, Dialect.RESPONSES, Dialect.EMBEDDINGS))
        or (kind == "openai_compatible" and dialect in (Dialect.CHAT, Dialect.EMBEDDINGS))
        or (kind == "anthropic" and dialect is Dialect.MESSAGES)
    )


def plan_attempt(ctx: CallContext, deployment: DeploymentInfo) -> Plan:
    assert ctx.request is not None
    creds = ctx.upstream_credentials or provider_credentials(deployment.provider)
    if creds is None:
        raise GatewayError(ErrorType.ROUTING, f"Provider '{deployment.provider.slug}' is not configured.")
    dialect = ctx.request.dialect
    kind = deployment.provider.kind
    if same_wire(kind, dialect) and not ctx.force_translate:
        if kind == "anthropic":
            upstream = anthropic_wire.passthrough_request(
                body=ctx.request.raw,
                upstream_model=deployment.upstream_model,
                base_url=creds.base_url,
                api_key=creds.api_key,
                headers=ctx.request.passthrough_headers,
            )
            return Plan(upstream=upstream, adapter=anthropic_wire, passthrough=True)
        upstream = openai_wire.passthrough_request(
            dialect=dialect,
            body=ctx.request.raw,
            upstream_model=deployment.upstream_model,
            base_url=creds.base_url,
            api_key=creds.api_key,
            stream=ctx.request.stream,
        )
        return Plan(upstream=upstream, adapter=openai_wire, passthrough=True)
    adapter = provider_adapter(kind)
    if adapter is None or not hasattr(ctx.dialect, "StreamEncoder"):
        raise GatewayError(
            ErrorType.ROUTING,
            f"Serving the {dialect} API from a '{kind}' upstream is not available.",
            provider=deployment.provider.slug,
        )
    upstream = adapter.build_request(
        ctx.request,
        upstream_model=deployment.upstream_model,
        base_url=creds.base_url,
        api_key=creds.api_key,
        headers=ctx.request.passthrough_headers,
    )
    return Plan(upstream=upstream, adapter=adapter, passthrough=False)


async def send(ctx: CallContext, deployment: DeploymentInfo, plan: Plan) -> HttpResponse:
    provider = deployment.provider.slug
    upstream = plan.upstream
    try:
        resp = await upstream_post(upstream.url, body=upstream.body, headers=upstream.headers)
    except UpstreamTimeout:
        raise GatewayError(
            ErrorType.TIMEOUT,
            f"Upstream provider '{provider}' timed out.",
            code="upstream_timeout",
            provider=provider,
            retryable=True,
        ) from None
    except UpstreamFailure as exc:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Could not reach upstream provider '{provider}': {exc}.",
            code="upstream_unreachable",
            provider=provider,
            retryable=True,
        ) from None
    if resp.status_code >= 400:
        try:
            body = await resp.aread()
        except UpstreamFailure:
            body = b""  # the status alone still says what happened
        finally:
            await resp.aclose()
        raise plan.adapter.map_error(
            status=resp.status_code, body=body, headers=dict(resp.headers), provider=provider
        )
    if not upstream.stream:
        return await relay_json(ctx, resp, plan)
    return relay_stream(ctx, resp, plan)


# ------------------------------------------------------------------ relay


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


def relay_stream(ctx: CallContext, resp: UpstreamResponse, plan: Plan) -> StreamingHttpResponse:
    assert ctx.request is not None
    chunks = (
        _relay_events(ctx, resp, stream_rewriter(ctx))
        if plan.passthrough
        else _translate_events(ctx, resp, plan)
    )
    response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["x-request-id"] = ctx.request_id
    add_headers(response, billing.response_headers(ctx))  # billing: rate-limit headers
    firewall.set_header(ctx, response)
    for name, value in SSE_HEADERS.items():
        response[name] = value
    return response


def stream_rewriter(ctx: CallContext) -> Callable[[LazyEvent], bytes | None]:
    """Same-wire streams pass through byte for byte, except the event that
    carries usage: it is parsed for accounting and gains Junction's fields."""
    assert ctx.request is not None
    dialect = ctx.request.dialect
    client_wants_usage = ctx.request.include_usage
    if dialect is Dialect.MESSAGES:

        def on_usage(usage: Usage) -> dict[str, Any]:
            ctx.usage = usage
            billing.mark_final_event(ctx)  # billing: this event also gets usage.cost
            return response_extras(ctx)

        return billing.metered(ctx, anthropic_wire.passthrough_rewriter(on_usage))

    def rewrite(ev: LazyEvent) -> bytes | None:
        ctx.output_events += b'delta"' in ev.raw  # billing: the estimate if the stream is cut
        if b'"usage"' not in ev.raw or ev.data == "[DONE]":
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

    return rewrite


def _mid_stream_error(ctx: CallContext, exc: Exception) -> GatewayError:
    kind = ErrorType.TIMEOUT if isinstance(exc, UpstreamTimeout) else ErrorType.UPSTREAM
    err = GatewayError(kind, f"Upstream provider '{ctx.provider}' failed mid-stream.", provider=ctx.provider)
    ctx.fail(err, status=200)
    return err


async def _relay_events(
    ctx: CallContext, resp: UpstreamResponse, rewrite: Callable[[LazyEvent], bytes | None]
) -> AsyncIterator[bytes]:
    parser = SSEParser()
    try:
        async for chunk in resp.aiter_bytes():
            out = [b for b in map(rewrite, parser.feed_lazy(chunk)) if b]
            if out:
                ctx.mark_first_byte()
                yield b"".join(out)
        tail = [b for b in map(rewrite, parser.close_lazy()) if b]
        if tail:
            yield b"".join(tail)
    except UpstreamFailure as exc:
        yield ctx.dialect.encode_stream_error(_mid_stream_error(ctx, exc), ctx.request_id)
    except asyncio.CancelledError:
        ctx.client_disconnected()
        raise
    finally:
        await resp.aclose()
        ctx.finish()


async def _translate_events(ctx: CallContext, resp: UpstreamResponse, plan: Plan) -> AsyncIterator[bytes]:
    """Provider stream -> canonical events -> (filters) -> the caller's dialect."""
    assert ctx.request is not None
    decoder = plan.adapter.StreamDecoder()

    def finalize(usage: Usage) -> dict[str, Any]:
        ctx.usage = usage
        billing.mark_final_event(ctx)  # billing: the bytes being built get usage.cost
        return response_extras(ctx)

    encoder = ctx.dialect.StreamEncoder(request=ctx.request, finalize=finalize)

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
