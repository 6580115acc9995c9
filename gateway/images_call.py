"""An images API call's stages, run inside its job (``files.tasks.run_image_job``).

The HTTP view (``gateway.images_views``) authenticates, decodes and creates
the job; everything that costs money happens here, in the task, so a client
that disconnects (or a web process that restarts) loses nothing it pays for:

limit -> firewall (prompt scope on the prompt) -> route (image models only)
-> parameter check (``gateway.dialects.images.params``, 400 naming the
parameter) -> reserve (per-image price x n + the prompt's tokens; 402 with
no upstream call) -> dispatch with fallback (streamed partial images are
published as they come) -> store every image -> settle (once) -> log.

The same ``CallContext`` and stage objects as ``gateway.pipeline.model_call``
(``CallBilling``, ``FirewallCall``, ``RoutingCall``): billing settles and the
log row is queued by ``CallContext.finish()``, which the job calls once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async

from billing import stages as billing
from billing.money import Metered, PriceSheet, cost_of, worst_case_sheet
from billing.stages import CallBilling
from files.generated import NotAnImage, generated_image_store
from files.models import GeneratedImage, ImageSource
from firewall import hooks as firewall
from firewall.hooks import FirewallCall
from gateway.auth import authenticate_hash
from gateway.canonical import Message, TextPart, Usage
from gateway.canonical_images import (
    ImageAnswer,
    ImageCompleted,
    ImageOut,
    ImageRequest,
    ImageStreamError,
    PartialImage,
)
from gateway.catalog.snapshot import DeploymentInfo, get_catalog, provider_credentials
from gateway.context import CallContext
from gateway.dialects import images as images_dialect
from gateway.dialects.images import params
from gateway.errors import ErrorType, GatewayError
from gateway.http import UpstreamFailure, UpstreamTimeout, UpstreamTooLarge, upstream_post
from gateway.providers import image_codec
from gateway.providers.base import ImageCodec
from routing_rules.stage import Attempt, RoutingCall, attempt_begin, attempt_failed, attempt_ok, route_call

logger = logging.getLogger("junction.images")

MAX_ATTEMPTS = 3
PROMPT_TOKENS_PER_CHAR = 1  # a token is at least one character: the prompt's length bounds its tokens
INPUT_IMAGE_TOKENS_UPPER = 6_000  # an input image's tokens, worst case (gpt-image-1 high fidelity)

Publish = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class ImageCall:
    """What the job knows and produces: the request, the context, the images stored."""

    job_id: str
    request: ImageRequest
    ctx: CallContext
    bill: CallBilling = field(default_factory=CallBilling)
    routing: RoutingCall = field(default_factory=RoutingCall)
    screen: FirewallCall = field(default_factory=FirewallCall)
    answer: ImageAnswer | None = None
    stored: list[GeneratedImage] = field(default_factory=list)
    streamed: int = 0  # partial images passed to the client

    def __post_init__(self) -> None:
        self.ctx.stages = (self.routing, self.screen, self.bill)


def new_call(
    *, job_id: str, request: ImageRequest, request_id: str, headers: dict[str, str], client_ip: str | None
) -> ImageCall:
    ctx = CallContext(
        endpoint=f"images.{request.operation}",
        dialect=images_dialect,
        headers=headers,
        client_ip=client_ip,
        request_id=request_id,
    )
    return ImageCall(job_id=job_id, request=request, ctx=ctx)


async def run(call: ImageCall, *, key_hash: str, publish: Publish) -> None:
    """Every stage up to the stored images; raises ``GatewayError``. The caller
    ends the call (``call.ctx.finish()``: settle + log) exactly once."""
    ctx, req = call.ctx, call.request
    ctx.principal = await authenticate_hash(key_hash)
    creq = req.canonical()
    ctx.attach(creq)
    ctx.stream = req.stream
    await billing.limit(ctx, call.bill, body_size=len(req.prompt.encode()))
    await firewall.screen_request(ctx, call.screen, body_size=len(req.prompt.encode()))
    req.prompt = masked_prompt(ctx) or req.prompt  # a firewall mask rewrites the prompt
    catalog = await get_catalog()
    routed = await route_call(ctx, call.routing, creq, catalog)
    attempts = usable_attempts(req, routed.attempts[:MAX_ATTEMPTS])
    await reserve(call, attempts)
    call.answer = await dispatch(call, attempts, publish)
    await store(call)


def masked_prompt(ctx: CallContext) -> str | None:
    assert ctx.request is not None
    for item in ctx.request.items:
        if isinstance(item, Message):
            return "".join(p.text for p in item.content if isinstance(p, TextPart))
    return None


def usable_attempts(req: ImageRequest, attempts: list[Attempt]) -> list[Attempt]:
    """The first candidate's refusal is the caller's answer (400 naming the
    parameter); a fallback candidate that cannot serve the call is skipped."""
    usable: list[Attempt] = []
    for index, attempt in enumerate(attempts):
        d = attempt.deployment
        try:
            if image_codec(d.provider.kind) is None:
                raise GatewayError(
                    ErrorType.ROUTING,
                    f"Provider '{d.provider.slug}' does not serve the images API.",
                    provider=d.provider.slug,
                )
            params.check(
                req,
                provider_kind=d.provider.kind,
                provider=d.provider.slug,
                upstream_model=d.upstream_model,
                model_id=d.model.model_id,
                price_rows=d.model.prices.images,
            )
        except GatewayError:
            if index == 0:
                raise
            continue
        usable.append(attempt)
    return usable


# ---------------------------------------------------------------- billing


def price_sheet(req: ImageRequest, d: DeploymentInfo, *, quality: str | None, size: str | None) -> PriceSheet:
    """Input tokens at the model's input price; every image at its per-image
    price (which is the price of the image's output tokens: those are not
    charged again)."""
    p = d.model.prices
    per_image = params.image_price(p.images, quality=quality, size=size, fallback=p.image)
    return PriceSheet(input=p.input, cached_input=p.cached_input, image=per_image)


async def reserve(call: ImageCall, attempts: list[Attempt]) -> None:
    req, ctx, bill = call.request, call.ctx, call.bill
    principal = ctx.principal
    assert principal is not None
    upper = len(req.prompt) * PROMPT_TOKENS_PER_CHAR + INPUT_IMAGE_TOKENS_UPPER * (
        len(req.images) + (1 if req.mask else 0)
    )
    bill.input_upper = bill.input_estimate = upper
    worst = 0
    for attempt in attempts:
        d = attempt.deployment
        sheet = price_sheet(req, d, quality=req.quality, size=req.size)
        bill.prices[d.model.model_id] = sheet
        markup = billing.byok_multiplier() if attempt.byok else principal.markup
        metered = Metered(input_tokens=upper, images=req.n)
        worst = max(worst, cost_of(metered, worst_case_sheet(sheet), markup=markup).charged_units)
    await billing.hold(ctx, bill, worst)


def meter(call: ImageCall, deployment: DeploymentInfo) -> None:
    """The call's usage once the images are in: the per-image price for the
    quality and size the answer names (else the request's), the input tokens
    the upstream reported."""
    answer, req, ctx = call.answer, call.request, call.ctx
    assert answer is not None
    call.bill.prices[deployment.model.model_id] = price_sheet(
        req, deployment, quality=answer.quality or req.quality, size=answer.size or req.size
    )
    usage = answer.usage
    ctx.usage = Usage(
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        images=len(answer.images),
    )
    call.bill.answered = True


# --------------------------------------------------------------- dispatch


async def dispatch(call: ImageCall, attempts: list[Attempt], publish: Publish) -> ImageAnswer:
    ctx = call.ctx
    last: GatewayError | None = None
    for index, attempt in enumerate(attempts):
        d = attempt.deployment
        ctx.provider, ctx.model_used = d.provider.slug, d.model.model_id
        started = await attempt_begin(ctx, call.routing, attempt, index)
        try:
            answer = await send(call, d, publish)
        except GatewayError as err:
            attempt_failed(ctx, call.routing, attempt, started, err)
            last = err
            if not err.retryable or call.streamed:
                break
            continue
        attempt_ok(ctx, call.routing, attempt, started)
        call.answer = answer
        meter(call, d)
        return answer
    if last is None:
        raise GatewayError(ErrorType.ROUTING, "No upstream can serve this images call.")
    raise last


def _upstream_error(ctx: CallContext, what: str, code: str, *, retryable: bool) -> GatewayError:
    kind = ErrorType.TIMEOUT if code == "upstream_timeout" else ErrorType.UPSTREAM
    return GatewayError(
        kind,
        f"Upstream provider '{ctx.provider}' {what}.",
        code=code,
        provider=ctx.provider,
        retryable=retryable,
    )


async def send(call: ImageCall, d: DeploymentInfo, publish: Publish) -> ImageAnswer:
    ctx, req = call.ctx, call.request
    creds = ctx.upstream_credentials or provider_credentials(d.provider)
    if creds is None:
        raise GatewayError(ErrorType.ROUTING, f"Provider '{d.provider.slug}' is not configured.")
    codec = image_codec(d.provider.kind)
    assert codec is not None
    upstream = codec.build_request(
        req,
        upstream_model=d.upstream_model,
        base_url=creds.base_url,
        api_key=creds.api_key,
        provider_kind=d.provider.kind,
    )
    try:
        resp = await upstream_post(upstream.url, body=upstream.body, headers=upstream.headers)
    except UpstreamTimeout:
        raise _upstream_error(ctx, "timed out", "upstream_timeout", retryable=True) from None
    except UpstreamFailure as exc:
        raise _upstream_error(
            ctx, f"could not be reached ({exc})", "upstream_unreachable", retryable=True
        ) from None
    try:
        if resp.status_code >= 400:
            body = await resp.aread()
            raise codec.map_error(
                status=resp.status_code, body=body, headers=dict(resp.headers), provider=d.provider.slug
            )
        if upstream.stream and codec.stream_decoder is not None:
            return await read_stream(call, codec, resp.aiter_bytes(), publish)
        body = await resp.aread()
    except UpstreamTimeout:
        raise _upstream_error(ctx, "timed out", "upstream_timeout", retryable=not call.streamed) from None
    except UpstreamTooLarge as exc:
        raise _upstream_error(
            ctx, f"answered too much ({exc})", "upstream_response_too_large", retryable=False
        ) from None
    except UpstreamFailure:
        raise _upstream_error(
            ctx, "broke the connection", "upstream_unreachable", retryable=not call.streamed
        ) from None
    finally:
        await resp.aclose()
    ctx.mark_first_byte()
    try:
        answer = codec.parse_answer(body)
    except (ValueError, KeyError, TypeError):
        raise _upstream_error(
            ctx, "sent an unreadable images answer", "upstream_bad_answer", retryable=False
        ) from None
    if not answer.images:
        raise GatewayError(
            ErrorType.UPSTREAM,
            f"Upstream provider '{ctx.provider}' made no image"
            + (f": {answer.text[:300]}" if answer.text else "."),
            code="no_image",
            provider=ctx.provider,
        )
    return answer


async def read_stream(call: ImageCall, codec: ImageCodec, chunks: Any, publish: Publish) -> ImageAnswer:
    """Pass partial images on as they come; the completed events are the images."""
    assert codec.stream_decoder is not None
    decoder = codec.stream_decoder()
    answer = ImageAnswer()
    prefix = "image_generation" if call.request.operation == "generations" else "image_edit"

    async def on(events: list[Any]) -> None:
        for event in events:
            if isinstance(event, PartialImage):
                call.ctx.mark_first_byte()
                call.streamed += 1
                await publish({"type": "image.partial", "event": partial_wire(prefix, event)})
            elif isinstance(event, ImageCompleted):
                answer.images.append(event.image)
                answer.usage = event.usage or answer.usage
                answer.size, answer.quality = event.size or answer.size, event.quality or answer.quality
                answer.background = event.background or answer.background
                answer.output_format = event.output_format or answer.output_format
            elif isinstance(event, ImageStreamError):
                raise GatewayError(
                    ErrorType.UPSTREAM,
                    event.message,
                    code=event.code or "upstream_error",
                    provider=call.ctx.provider,
                )

    async for chunk in chunks:
        await on(decoder.feed(chunk))
    await on(decoder.close())
    if not answer.images:
        raise _upstream_error(call.ctx, "ended its stream without an image", "no_image", retryable=False)
    return answer


def partial_wire(prefix: str, event: PartialImage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": f"{prefix}.partial_image",
        "b64_json": event.b64_json,
        "partial_image_index": event.index,
        "created_at": 0,
    }
    for name in ("size", "quality", "background", "output_format"):
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    return out


# ------------------------------------------------------------------ store


async def store(call: ImageCall) -> None:
    """Every image into blob storage (a worker thread: S3 uploads block)."""
    answer, ctx = call.answer, call.ctx
    assert answer is not None and ctx.principal is not None
    workspace_id = ctx.principal.workspace_id
    for image in answer.images:
        try:
            row = await sync_to_async(_store_one, thread_sensitive=True)(call, workspace_id, image)
        except NotAnImage as exc:
            raise GatewayError(
                ErrorType.UPSTREAM,
                f"Upstream provider '{ctx.provider}' sent {exc}.",
                provider=ctx.provider,
                code="upstream_bad_answer",
            ) from None
        call.stored.append(row)


def _store_one(call: ImageCall, workspace_id: int, image: ImageOut) -> GeneratedImage:
    req, ctx, answer = call.request, call.ctx, call.answer
    assert answer is not None
    return generated_image_store(
        workspace_id=workspace_id,
        data=image.data,
        mime=image.mime,
        prompt=req.prompt,
        model=ctx.model_used,
        request_id=ctx.request_id,
        source=ImageSource.IMAGES_API,
        provider=ctx.provider,
        size=answer.size or req.size or "",
        quality=answer.quality or req.quality or "",
        revised_prompt=image.revised_prompt or "",
    )


def result_of(call: ImageCall) -> dict[str, Any]:
    """The answer as the job keeps it: image ids instead of bytes or links
    (``gateway.dialects.images.answer`` renders it for a client)."""
    answer, ctx = call.answer, call.ctx
    assert answer is not None
    fields = ctx.answer_fields()
    return {
        "created": answer.created or int(ctx.started_at.timestamp()),
        "images": [
            {"id": row.public_id, "revised_prompt": image.revised_prompt}
            for row, image in zip(call.stored, answer.images, strict=True)
        ],
        "usage": answer.usage.wire() if answer.usage else None,
        "size": answer.size,
        "quality": answer.quality,
        "background": answer.background,
        "output_format": answer.output_format,
        "fields": dict(fields),
        "usage_fields": dict(fields.usage),
    }
