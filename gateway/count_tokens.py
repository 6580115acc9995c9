"""``POST /v1/messages/count_tokens``.

When the model's first routed deployment is Anthropic (and configured),
Anthropic's own ``/v1/messages/count_tokens`` answers (exact, free upstream).
Otherwise Junction estimates locally, without an upstream call: about four
characters per token over every text, tool definition and argument, plus a
flat 1,600 tokens per image or document. The answer says which it is in
``estimated`` (a Junction extra field).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from django.http import HttpRequest, HttpResponse

from gateway import pipeline
from gateway.auth import authenticate, bearer_token
from gateway.canonical import (
    CanonicalRequest,
    FilePart,
    FunctionCall,
    FunctionCallOutput,
    FunctionTool,
    ImagePart,
    Message,
    Reasoning,
    TextPart,
)
from gateway.catalog.snapshot import get_catalog
from gateway.dialects import messages
from gateway.errors import ErrorType, GatewayError
from gateway.http import UpstreamFailure, upstream_post
from gateway.providers import anthropic as anthropic_wire
from routing_rules.stage import Attempt, RoutingCall, route_call

logger = logging.getLogger("junction.count_tokens")

CHARS_PER_TOKEN = 4
TOKENS_PER_ATTACHMENT = 1600
MESSAGE_OVERHEAD = 4
# The fields Anthropic's count_tokens accepts (generation settings are not among them).
COUNTED_FIELDS = ("messages", "system", "tools", "tool_choice", "thinking", "output_config", "mcp_servers")


def estimate_input_tokens(req: CanonicalRequest) -> int:
    chars = len(req.instructions or "")
    tokens = 0
    for item in req.items:
        tokens += MESSAGE_OVERHEAD
        if isinstance(item, Message):
            for part in item.content:
                if isinstance(part, TextPart):
                    chars += len(part.text)
                elif isinstance(part, ImagePart | FilePart):
                    tokens += TOKENS_PER_ATTACHMENT
        elif isinstance(item, FunctionCall):
            chars += len(item.name) + len(item.arguments)
        elif isinstance(item, FunctionCallOutput):
            chars += len(item.output)
        elif isinstance(item, Reasoning):
            chars += len(item.text or "".join(item.summary))
    for tool in req.tools:
        if isinstance(tool, FunctionTool):
            chars += (
                len(tool.name) + len(tool.description or "") + len(msgspec.json.encode(tool.parameters or {}))
            )
    return tokens + -(-chars // CHARS_PER_TOKEN)


async def count_tokens(request: HttpRequest) -> HttpResponse:
    ctx = pipeline.new_context(request, endpoint="messages.count_tokens", dialect=messages)
    routing = RoutingCall()
    ctx.stages = (routing,)
    try:
        ctx.principal = await authenticate(bearer_token(ctx.headers, allow_x_api_key=True))
        body = pipeline.parse_json_body(request.body)
        # count_tokens takes a Messages body without ``max_tokens``.
        creq = messages.decode({**body, "max_tokens": body.get("max_tokens") or 1}, ctx.headers)
        ctx.attach(creq)
        catalog = await get_catalog()
        # The same routing as a model call: the workspace's rules and keys.
        first = (await route_call(ctx, routing, creq, catalog)).attempts[0]
        ctx.provider = first.deployment.provider.slug
        ctx.model_used = first.deployment.model.model_id
        result: dict[str, Any] | None = None
        if first.deployment.provider.kind == "anthropic":
            result = await _anthropic_count(ctx.provider, first, body, creq)
        if result is None:
            result = {"input_tokens": estimate_input_tokens(creq), "estimated": True}
    except GatewayError as err:
        return pipeline.error_response(ctx, err)
    ctx.finish()
    response = HttpResponse(msgspec.json.encode(result), content_type="application/json")
    response["x-request-id"] = ctx.request_id
    return response


async def _anthropic_count(
    provider: str, attempt: Attempt, body: dict[str, Any], creq: CanonicalRequest
) -> dict[str, Any] | None:
    creds = attempt.credentials
    out = {k: v for k, v in body.items() if k in COUNTED_FIELDS}
    out["model"] = attempt.deployment.upstream_model
    try:
        resp = await upstream_post(
            creds.base_url + "/v1/messages/count_tokens",
            body=msgspec.json.encode(out),
            headers=anthropic_wire.api_headers(creds.api_key, creq.passthrough_headers),
        )
        try:
            content = await resp.aread()
        finally:
            await resp.aclose()
    except UpstreamFailure as exc:
        logger.warning("anthropic count_tokens failed (%s); estimating", exc.__class__.__name__)
        return None
    if resp.status_code >= 400:
        err = anthropic_wire.map_error(
            status=resp.status_code, body=content, headers=resp.headers, provider=provider
        )
        if err.type is ErrorType.INVALID_REQUEST:
            raise err
        return None  # Anthropic is unwell: an estimate beats an error for a count.
    try:
        data = msgspec.json.decode(content)
        return {"input_tokens": int(data["input_tokens"]), "estimated": False}
    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
        raise GatewayError(
            ErrorType.UPSTREAM, "Anthropic sent an unreadable token count.", provider=provider
        ) from None
