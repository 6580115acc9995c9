"""The /v1 views: thin async functions that hand the request to the pipeline."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from billing.money import units_to_usd, usd_number
from billing.selectors import credits_summary
from gateway import count_tokens, pipeline
from gateway.auth import authenticate, bearer_token
from gateway.catalog.snapshot import Catalog, ModelInfo, get_catalog, provider_credentials
from gateway.dialects import chat, embeddings, messages, responses
from gateway.errors import ErrorType, GatewayError


@csrf_exempt
@require_POST
async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    return await pipeline.model_call(request, dialect=chat, endpoint="chat.completions")


@csrf_exempt
@require_POST
async def create_response(request: HttpRequest) -> HttpResponseBase:
    return await pipeline.model_call(request, dialect=responses, endpoint="responses")


@csrf_exempt
@require_POST
async def create_message(request: HttpRequest) -> HttpResponseBase:
    return await pipeline.model_call(request, dialect=messages, endpoint="messages")


@csrf_exempt
@require_POST
async def count_message_tokens(request: HttpRequest) -> HttpResponse:
    return await count_tokens.count_tokens(request)


@csrf_exempt
@require_POST
async def create_embeddings(request: HttpRequest) -> HttpResponseBase:
    return await pipeline.model_call(request, dialect=embeddings, endpoint="embeddings")


def _model_object(model: ModelInfo, providers: list[str]) -> dict[str, object]:
    p = model.prices
    return {
        "id": model.model_id,
        "object": "model",
        "created": model.created,
        "owned_by": model.owned_by,
        # Junction's metadata (extra fields; the SDKs keep them on the object).
        "display_name": model.display_name,
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "capabilities": sorted(model.capabilities),
        "quality_tier": model.quality_tier,
        "providers": providers,
        "pricing": {
            "currency": "USD",
            "unit": "per 1M tokens; image and web_search per call",
            "input": str(p.input),
            # a cache hit: OpenAI's and Gemini's cached input, Anthropic's cache read
            "cached_input": str(p.cached_input),
            # what is charged: a write price the catalog leaves at 0 is the input price
            "cache_write_5m": str(p.cache_write_5m or p.input),
            "cache_write_1h": str(p.cache_write_1h or p.input),
            "output": str(p.output),
            "reasoning": str(p.reasoning or p.output),
            "image": str(p.image),
            "web_search": str(p.web_search),
            # image models: USD per image by quality and size
            **({"images": _image_prices(p.images)} if p.images else {}),
        },
    }


def _image_prices(rows: tuple[tuple[str, str, Decimal], ...]) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for quality, size, price in rows:
        table.setdefault(quality, {})[size] = str(price)
    return table


def _available(catalog: Catalog) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for model_id, model in catalog.models.items():
        providers = [
            d.provider.slug
            for d in catalog.deployments.get(model_id, ())
            if provider_credentials(d.provider) is not None
        ]
        if providers:
            out[model_id] = _model_object(model, providers)
    return out


async def _models(request: HttpRequest, model_id: str | None) -> HttpResponse:
    ctx = pipeline.new_context(request, endpoint="models", dialect=chat)
    try:
        ctx.principal = await authenticate(bearer_token(ctx.headers))
        available = _available(await get_catalog())
        if model_id is None:
            body: object = {"object": "list", "data": list(available.values())}
        else:
            ctx.model_requested = model_id
            if model_id not in available:
                raise GatewayError(
                    ErrorType.MODEL_NOT_FOUND,
                    f"The model '{model_id}' does not exist or you do not have access to it.",
                    param="model",
                    code="model_not_found",
                )
            body = available[model_id]
    except GatewayError as err:
        return pipeline.error_response(ctx, err)
    ctx.finish()
    response = HttpResponse(msgspec.json.encode(body), content_type="application/json")
    response["x-request-id"] = ctx.request_id
    return response


@require_GET
async def list_models(request: HttpRequest) -> HttpResponse:
    return await _models(request, None)


@require_GET
async def retrieve_model(request: HttpRequest, model_id: str) -> HttpResponse:
    return await _models(request, model_id)


@require_GET
async def credits(request: HttpRequest) -> HttpResponse:
    """The workspace's balance and this key's spend in its current period."""
    ctx = pipeline.new_context(request, endpoint="credits", dialect=chat)
    try:
        principal = ctx.principal = await authenticate(bearer_token(ctx.headers))
    except GatewayError as err:
        return pipeline.error_response(ctx, err)
    summary = await sync_to_async(credits_summary)(
        workspace_id=principal.workspace_id,
        api_key_id=principal.key_id,
        spend_period=principal.spend_period,
        spend_limit_units=principal.spend_limit_units,
    )
    balance, spend = summary.balance, summary.key_spend
    limit = spend.limit_units
    body = {
        "object": "credits",
        "workspace": principal.workspace_slug,
        **balance.wire(),
        "key": {
            "prefix": principal.key_prefix,
            "period": spend.period,
            "period_key": spend.period_key,
            "spend": usd_number(units_to_usd(spend.spent_units)),
            "spend_units": spend.spent_units,
            "reserved_units": spend.reserved_units,
            "limit": usd_number(units_to_usd(limit)) if limit is not None else None,
            "limit_units": limit,
            "remaining_units": max(limit - spend.spent_units - spend.reserved_units, 0) if limit else None,
        },
    }
    ctx.finish()
    response = HttpResponse(msgspec.json.encode(body), content_type="application/json")
    response["x-request-id"] = ctx.request_id
    return response
