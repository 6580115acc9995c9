"""OpenAI wire format (Responses and Chat Completions).

This module holds the same-dialect fast path: a chat request to a chat
upstream, or a responses request to OpenAI's Responses API, is forwarded with
minimal edits (model name, stream usage, ``store``) and its answer relayed
byte for byte, parsed only for usage.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.canonical import Dialect, Usage
from gateway.errors import ErrorType, GatewayError
from gateway.providers.base import UpstreamRequest

PATHS = {
    Dialect.CHAT: "/chat/completions",
    Dialect.RESPONSES: "/responses",
    Dialect.EMBEDDINGS: "/embeddings",
}
# Body fields that are Junction's own and never reach an upstream.
JUNCTION_FIELDS = ("router_mode",)


def auth_headers(api_key: str) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


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


def _int(d: Any, *path: str) -> int:
    for key in path:
        if not isinstance(d, dict):
            return 0
        d = d.get(key)
    return d if isinstance(d, int) else 0


def usage_from_chat(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=_int(usage, "prompt_tokens"),
        cached_input_tokens=_int(usage, "prompt_tokens_details", "cached_tokens"),
        output_tokens=_int(usage, "completion_tokens"),
        reasoning_tokens=_int(usage, "completion_tokens_details", "reasoning_tokens"),
    )


def usage_from_responses(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=_int(usage, "input_tokens"),
        cached_input_tokens=_int(usage, "input_tokens_details", "cached_tokens"),
        output_tokens=_int(usage, "output_tokens"),
        reasoning_tokens=_int(usage, "output_tokens_details", "reasoning_tokens"),
    )


USAGE_PARSERS = {
    Dialect.CHAT: usage_from_chat,
    Dialect.RESPONSES: usage_from_responses,
    Dialect.EMBEDDINGS: usage_from_chat,  # {"prompt_tokens", "total_tokens"}
}


def map_error(*, status: int, body: bytes, headers: dict[str, str], provider: str) -> GatewayError:
    """An OpenAI-format error body (also what OpenAI-compatible servers send)."""
    raw: Any
    try:
        raw = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        raw = body[:2000].decode("utf-8", errors="replace")
    err = raw.get("error") if isinstance(raw, dict) else None
    if isinstance(err, str):
        err = {"message": err}
    if not isinstance(err, dict):
        err = {}
    message = str(err.get("message") or f"Upstream {provider} answered HTTP {status}.")
    code = err.get("code") if isinstance(err.get("code"), str) else None
    param = err.get("param") if isinstance(err.get("param"), str) else None
    return classify(
        status=status, message=message, code=code, param=param, headers=headers, provider=provider, raw=raw
    )


def classify(
    *,
    status: int,
    message: str,
    code: str | None,
    param: str | None,
    headers: dict[str, str],
    provider: str,
    raw: Any,
) -> GatewayError:
    """Upstream status -> Junction error. Shared by every provider's ``map_error``."""
    lowered = message.lower()
    if (
        code == "context_length_exceeded"
        or "context length" in lowered
        or "context window" in lowered
        or ("too long" in lowered and "token" in lowered)
    ):
        return GatewayError(
            ErrorType.CONTEXT_LENGTH,
            message,
            status=400,
            param=param or "messages",
            code="context_length_exceeded",
            provider=provider,
            raw=raw,
        )
    if status == 429:
        return GatewayError(
            ErrorType.RATE_LIMIT,
            message,
            status=429,
            code=code or "rate_limit_exceeded",
            provider=provider,
            raw=raw,
            retry_after=headers.get("retry-after"),
            retryable=True,
        )
    if status in (400, 413, 422):
        return GatewayError(
            ErrorType.INVALID_REQUEST,
            message,
            status=413 if status == 413 else 400,
            param=param,
            code=code,
            provider=provider,
            raw=raw,
        )
    if status == 408 or status == 504:
        return GatewayError(
            ErrorType.TIMEOUT,
            message,
            status=504,
            code="upstream_timeout",
            provider=provider,
            raw=raw,
            retryable=True,
        )
    if status == 529:
        return GatewayError(
            ErrorType.OVERLOADED,
            message,
            status=529,
            code="overloaded",
            provider=provider,
            raw=raw,
            retryable=True,
        )
    # 401/403/404 from an upstream are Junction's configuration problems, not
    # the caller's: report them as a bad gateway, never as the caller's 401.
    return GatewayError(
        ErrorType.UPSTREAM,
        f"Upstream provider '{provider}' failed with HTTP {status}: {message}",
        status=502,
        code="upstream_error",
        provider=provider,
        raw=raw,
        retryable=status >= 500,
    )
